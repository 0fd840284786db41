//! T6 — softmax heads and channels separate, with certificates that re-verify exactly.

use num_traits::{One, Signed, Zero};

use crate::attention::SoftmaxHead;
use crate::interval::{determinant_enclosure, softmax_enclosure_rows, Interval};
use crate::scalar::{ratio, Exact};
use crate::tensor::Matrix;

/// **T6a** — why no causal softmax head has this matrix as its attention. A softmax
/// head's matrix is row-stochastic with *positive* causal entries, so any of these is an
/// exact certificate.
#[derive(Debug, Clone, PartialEq)]
pub enum SoftmaxObstruction {
    /// A causal entry (`$j\le i$`) that is negative.
    NegativeEntry {
        /// Row `$i$`.
        row: usize,
        /// Column `$j \le i$`.
        col: usize,
        /// The entry.
        value: Exact,
    },
    /// A causal entry that is exactly 0 (`$e^{z} > 0$`).
    ZeroEntry {
        /// Row `$i$`.
        row: usize,
        /// Column `$j\le i$`.
        col: usize,
    },
    /// A row whose causal entries do not sum to 1.
    RowSum {
        /// Row `$i$`.
        row: usize,
        /// `$\sum_{j\le i} M_{ij}$`.
        sum: Exact,
    },
}

impl SoftmaxObstruction {
    /// Re-verify on `m` exactly.
    pub fn verify(&self, m: &Matrix<Exact>) -> bool {
        match self {
            Self::NegativeEntry { row, col, value } => {
                col <= row && *row < m.rows() && m.get(*row, *col) == value && value.is_negative()
            }
            Self::ZeroEntry { row, col } => {
                col <= row && *row < m.rows() && m.get(*row, *col).is_zero()
            }
            Self::RowSum { row, sum } => {
                *row < m.rows()
                    && &m.row(*row)[..=*row]
                        .iter()
                        .fold(Exact::zero(), |a, b| a + b)
                        == sum
                    && !sum.is_one()
            }
        }
    }
}

impl SoftmaxObstruction {
    /// Re-verify **from the channel**, exactly and independently of `$\tilde\alpha$`: the
    /// claimed entry `$\tilde\alpha_{ij}$` is recomputed as `$y_i$` of the scan of the unit
    /// input `$e_j$`, and the claimed row sum `$\sum_{j\le i}\tilde\alpha_{ij}$` as `$y_i$` of
    /// the scan of the all-ones input (T1: `$y = \tilde\alpha x$`). `false` if an index is out
    /// of range or the recomputed value disagrees with the claim.
    ///
    /// # Examples
    /// ```
    /// use hidden_attention::{construct::separation::SoftmaxObstruction, scalar::ratio, ssm::Channel};
    /// let ch = Channel::new(1, 1, vec![ratio(1, 1)], vec![ratio(-1, 1)], vec![ratio(1, 1)]).unwrap();
    /// let neg = SoftmaxObstruction::NegativeEntry { row: 0, col: 0, value: ratio(-1, 1) };
    /// assert!(neg.verify_on_channel(&ch));
    /// let wrong = SoftmaxObstruction::NegativeEntry { row: 0, col: 0, value: ratio(-2, 1) };
    /// assert!(!wrong.verify_on_channel(&ch));
    /// ```
    pub fn verify_on_channel(&self, ch: &crate::ssm::Channel<Exact>) -> bool {
        let l = ch.len();
        let entry = |i: usize, j: usize| -> Option<Exact> {
            let mut e = vec![Exact::zero(); l];
            e[j] = Exact::one();
            crate::ssm::scan(ch, &e).ok().map(|s| s.y[i].clone())
        };
        match self {
            Self::NegativeEntry { row, col, value } => {
                col <= row
                    && *row < l
                    && value.is_negative()
                    && entry(*row, *col).as_ref() == Some(value)
            }
            Self::ZeroEntry { row, col } => {
                col <= row && *row < l && entry(*row, *col).is_some_and(|v| v.is_zero())
            }
            Self::RowSum { row, sum } => {
                *row < l
                    && !sum.is_one()
                    && crate::ssm::scan(ch, &vec![Exact::one(); l]).is_ok_and(|s| &s.y[*row] == sum)
            }
        }
    }
}

impl std::fmt::Display for SoftmaxObstruction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NegativeEntry { row, col, value } => {
                write!(f, "entry ({row}, {col}) = {value} < 0")
            }
            Self::ZeroEntry { row, col } => {
                write!(f, "entry ({row}, {col}) = 0 (softmax entries are > 0)")
            }
            Self::RowSum { row, sum } => write!(f, "row {row} sums to {sum} ≠ 1"),
        }
    }
}

/// **T6a**: the first obstruction (row by row: negative or zero entry, then the row sum)
/// showing no causal softmax head has attention matrix `m`; `None` if `m` is
/// row-stochastic with positive causal entries. A causal softmax head's matrix is
///
/// ```math
/// S_{ij} = \frac{e^{s_{ij}}}{\sum_{k\le i} e^{s_{ik}}}\ (j\le i),\qquad S_{ij} = 0\ (j>i),
/// ```
///
/// so `$S_{ij} > 0$` and `$\sum_{j\le i}S_{ij} = 1$`; `m` failing either is no head's.
///
/// Coq: `t6_negative_entry_not_softmax`, `t6_row_sum_not_softmax`,
/// `t6_softmax_is_causal_stochastic` (zero entries), `t6_channel_not_softmax`
/// (`proofs/T6_Softmax.v`).
///
/// # Examples
/// ```
/// use hidden_attention::{construct::separation::{softmax_obstruction, SoftmaxObstruction},
///                        scalar::ratio, ssm::{Channel, attention_matrix as alpha}};
/// let ch = Channel::new(1, 1, vec![ratio(1, 1)], vec![ratio(-1, 1)], vec![ratio(1, 1)]).unwrap();
/// let a = alpha(&ch).unwrap(); // [[-1]]
/// let ob = softmax_obstruction(&a).unwrap();
/// assert_eq!(ob, SoftmaxObstruction::NegativeEntry { row: 0, col: 0, value: ratio(-1, 1) });
/// assert!(ob.verify(&a));
/// ```
pub fn softmax_obstruction(m: &Matrix<Exact>) -> Option<SoftmaxObstruction> {
    for i in 0..m.rows() {
        for j in 0..=i.min(m.cols().saturating_sub(1)) {
            let v = m.get(i, j);
            if v.is_negative() {
                return Some(SoftmaxObstruction::NegativeEntry {
                    row: i,
                    col: j,
                    value: v.clone(),
                });
            }
            if v.is_zero() {
                return Some(SoftmaxObstruction::ZeroEntry { row: i, col: j });
            }
        }
        let sum = m.row(i)[..=i].iter().fold(Exact::zero(), |a, b| a + b);
        if !sum.is_one() {
            return Some(SoftmaxObstruction::RowSum { row: i, sum });
        }
    }
    None
}

/// **T6b** — a certificate that a softmax head's matrix has semiseparable rank `$\ge k$`:
/// a `$k\times k$` submatrix inside one block `$H_j$` (every column `$\le$` every row index)
/// whose determinant, enclosed in rational interval arithmetic ([`crate::interval`]),
/// excludes 0. By T4 no channel with state `$N < k$` has this matrix as its `$\tilde\alpha$`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankCertificate {
    /// The head (exact queries, keys, scale).
    pub head: SoftmaxHead<Exact>,
    /// Rows of the submatrix.
    pub rows: Vec<usize>,
    /// Columns of the submatrix (all `$\le$` `rows[0]`).
    pub cols: Vec<usize>,
    /// Significant bits of the interval arithmetic.
    pub bits: u32,
    /// The determinant enclosure.
    pub determinant: Interval,
}

impl RankCertificate {
    /// `$k$`: the certified lower bound on the semiseparable rank.
    pub fn size(&self) -> usize {
        self.rows.len()
    }
    /// Recompute the enclosure from the head alone and check it excludes 0, and that the
    /// submatrix is square and lies inside a block `$H_j$`.
    pub fn verify(&self) -> bool {
        certify_softmax_rank(&self.head, &self.rows, &self.cols, self.bits)
            .is_some_and(|c| c.determinant == self.determinant)
    }
}

/// Enclose the determinant of the `rows × cols` submatrix of the head's matrix; a
/// certificate when the enclosure excludes 0 (and the submatrix is square, in range and
/// inside a block `$H_j$`), else `None`.
///
/// **T6b.** With `$R$` the rows and `$K$` the columns (`$\max K \le \min R$`, so the submatrix
/// lies in `$H_{\min R}$`), `$0 \notin [\det S_{R,K}]$` proves
/// `$\operatorname{rank} H_{\min R} \ge |R|$`, hence (T4) no channel with `$N < |R|$` has
/// `$\tilde\alpha = S$`.
///
/// Coq: `t4_semiseparable_rank_general` (any submatrix with rows `$\ge j$` and columns
/// `$\le j$` has rank `$\le N$`), `t6_softmax_not_channel`; the interval determinant itself is
/// not formalised.
///
/// # Examples
/// ```
/// use hidden_attention::construct::separation::{certify_softmax_rank, softmax_rank_family};
/// let head = softmax_rank_family(1); // L = 3, a_ij ∝ e^{ij/2}
/// let cert = certify_softmax_rank(&head, &[1, 2], &[0, 1], 64).unwrap();
/// assert_eq!(cert.size(), 2);
/// assert!(cert.verify());
/// // two equal columns are singular: no certificate
/// assert!(certify_softmax_rank(&head, &[1, 2], &[0, 0], 64).is_none());
/// ```
pub fn certify_softmax_rank(
    head: &SoftmaxHead<Exact>,
    rows: &[usize],
    cols: &[usize],
    bits: u32,
) -> Option<RankCertificate> {
    let l = head.len();
    let inside = rows.len() == cols.len()
        && !rows.is_empty()
        && rows.iter().all(|&r| r < l)
        && cols.iter().max() <= rows.iter().min();
    if !inside {
        return None;
    }
    let enc = softmax_enclosure_rows(head, rows, bits);
    let sub: Vec<Vec<Interval>> = enc
        .iter()
        .map(|row| cols.iter().map(|&c| row[c].clone()).collect())
        .collect();
    let det = determinant_enclosure(&sub, bits)?;
    det.excludes_zero().then(|| RankCertificate {
        head: head.clone(),
        rows: rows.to_vec(),
        cols: cols.to_vec(),
        bits,
        determinant: det,
    })
}

/// **T6b for any head**: a certified lower bound on the semiseparable rank of a rational
/// softmax head's matrix. The float matrix guides the search (faer SVD for the split and
/// numerical rank `$r$`, complete pivoting for the rows and columns); the certificate is
/// the largest `$k \le r$` whose submatrix's interval determinant excludes 0. `None` when
/// not even a `$1\times 1$` entry is certified (impossible for a softmax head, whose entries
/// are positive, unless the head is empty).
///
/// **T6b**, as [`certify_softmax_rank`] (Coq: `t4_semiseparable_rank_general`).
///
/// # Examples
/// ```
/// use hidden_attention::construct::separation::{certify_softmax_head, softmax_rank_family};
/// let cert = certify_softmax_head(&softmax_rank_family(2), 96).unwrap();
/// assert_eq!(cert.size(), 3); // the family's semiseparable rank n + 1
/// assert!(cert.verify());
/// ```
pub fn certify_softmax_head(head: &SoftmaxHead<Exact>, bits: u32) -> Option<RankCertificate> {
    let a = head.map(crate::scalar::Field::to_f64).attention().ok()?;
    let s = crate::semiseparable::semiseparable_rank_f64(&a, 0.0);
    (1..=s.rank).rev().find_map(|k| {
        let w = crate::semiseparable::block_witness(&a, s.split, k);
        certify_softmax_rank(head, &w.rows, &w.cols, bits)
    })
}

/// The family of T6b: the causal softmax head on `$L = 2n+1$` positions with `$d = 1$`,
/// `$q_i = k_i = i$` and scale `$1/(n+1)$`, so `$a_{ij} \propto \exp(ij/(n+1))$` — a row-scaled
/// Vandermonde matrix in the distinct nodes `$e^{i/(n+1)}$`, of semiseparable rank `$n+1$`:
///
/// ```math
/// a_{ij} = \frac{e^{ij/(n+1)}}{\sum_{k\le i} e^{ik/(n+1)}}\quad (j\le i).
/// ```
///
/// Theorem T6b. Coq: `t6_softmax_ss_rank_unbounded` proves the same growth with the
/// exp-free weights `$w_{ik} = 1 + [i = k + N]$` (`proofs/T6_Softmax.v`).
///
/// # Examples
/// ```
/// use hidden_attention::{construct::separation::softmax_rank_family, scalar::ratio};
/// let h = softmax_rank_family(2);
/// assert_eq!(h.len(), 5);
/// assert_eq!(*h.scale(), ratio(1, 3));
/// assert_eq!(*h.scores().get(4, 2), ratio(8, 3)); // s_ij = q_i k_j · scale = 4·2/3
/// ```
pub fn softmax_rank_family(n: usize) -> SoftmaxHead<Exact> {
    softmax_rank_family_of_length(n, 2 * n + 1)
}

/// **T6b**: for state size `$n$`, a certificate that the softmax head of
/// [`softmax_rank_family`]`(n)` has semiseparable rank `$\ge n + 1$` (rows `$n..=2n$`,
/// columns `$0..=n$` of its matrix) — so no channel with `$N = n$` reproduces it, and no
/// fixed-`$N$` channel reproduces every softmax head.
///
/// Coq: `t6_softmax_not_channel`, `t6_softmax_ss_rank_unbounded` (exp-free form),
/// `t4_semiseparable_rank_general` (`proofs/T6_Softmax.v`, `proofs/T4_Semiseparable.v`).
///
/// # Examples
/// ```
/// use hidden_attention::construct::separation::softmax_exceeds_state;
/// let cert = softmax_exceeds_state(3).unwrap();
/// assert_eq!(cert.size(), 4);
/// assert!(cert.verify());
/// ```
pub fn softmax_exceeds_state(n: usize) -> Option<RankCertificate> {
    let head = softmax_rank_family(n);
    let rows: Vec<usize> = (n..=2 * n).collect();
    let cols: Vec<usize> = (0..=n).collect();
    certify_softmax_rank(&head, &rows, &cols, 192)
}

/// The T6b head on `len` positions: `$d = 1$`, `$q_i = k_i = i$`, scale `$1/(n+1)$`
/// ([`softmax_rank_family`]`(n)` is `len` `$= 2n+1$`). A causal head's first rows do not
/// depend on later positions, so its matrix is that of [`softmax_rank_family`]`(n)`
/// extended by rows.
pub fn softmax_rank_family_of_length(n: usize, len: usize) -> SoftmaxHead<Exact> {
    let q = Matrix::from_row_major(len, 1, (0..len).map(|i| ratio(i as i64, 1)).collect())
        .expect("L × 1");
    SoftmaxHead::new(q.clone(), q, ratio(1, n as i64 + 1)).expect("finite scale")
}

/// **T19a** — a certificate that no head of GLA, simple GLA / SSD, RetNet, DPLR, DeltaNet or
/// Gated DeltaNet with key dimension `$d_k$` has the causal softmax matrix of
/// [`softmax_rank_family`]`(d_k)` (`$L = 2d_k + 1$`) as its implicit attention: the
/// `$(d_k+1)\times(d_k+1)$` minor on rows `$d_k..=2d_k$`, columns `$0..=d_k$` lies in the block
/// `$S[j.., ..j]$`, `$j = d_k$`, and its interval determinant excludes 0, while every such
/// block of a member head has rank `$\le d_k$` (T15):
///
/// ```math
/// \operatorname{rank} S[d_k.., ..d_k] \ge d_k + 1 > d_k \ge \operatorname{rank} A[d_k.., ..d_k].
/// ```
///
/// `$L = 2d_k + 1$` is the least length with such a minor: the block `$A[j.., ..j]$` has
/// `$L - j$` rows and `$j + 1$` columns. Theorem T19a (Coq, `proofs/T19_SoftmaxFamily.v`:
/// `t19_softmax_not_member`, from T15's `t15_ss_rank_le_dk`).
///
/// # Examples
/// ```
/// use hidden_attention::construct::separation::softmax_exceeds_key_dimension;
/// let cert = softmax_exceeds_key_dimension(2).unwrap();
/// assert_eq!((cert.head.len(), cert.size()), (5, 3));
/// assert!(cert.verify());
/// ```
pub fn softmax_exceeds_key_dimension(dk: usize) -> Option<RankCertificate> {
    let rows: Vec<usize> = (dk..=2 * dk).collect();
    let cols: Vec<usize> = (0..=dk).collect();
    certify_softmax_rank(&softmax_rank_family(dk), &rows, &cols, KEY_DIMENSION_BITS)
}

/// **T19a, RWKV-6** — a certificate that no RWKV-6 head with key dimension `$d_k$` has the
/// causal softmax matrix of [`softmax_rank_family_of_length`]`(d_k, 2d_k + 2)` as its
/// implicit attention: the `$(d_k+1)$`-minor on rows `$d_k+1..=2d_k+1$`, columns `$0..=d_k$`
/// lies *strictly below* the diagonal, in `$S[j+1.., ..j]$` with `$j = d_k$`, where an RWKV-6
/// head has rank `$\le d_k$` (T15; through the diagonal its bonus allows `$d_k + 1$`).
/// `$L = 2d_k + 2$` is the least length with such a minor (`$L - j - 1$` rows, `$j + 1$`
/// columns). Theorem T19a (Coq, `proofs/T19_SoftmaxFamily.v`: `t19_softmax_not_rwkv6`,
/// from `t15_rwkv6_rank_below`).
///
/// # Examples
/// ```
/// use hidden_attention::construct::separation::softmax_exceeds_key_dimension_below;
/// let cert = softmax_exceeds_key_dimension_below(2).unwrap();
/// assert_eq!((cert.head.len(), cert.size()), (6, 3));
/// assert!(cert.cols.iter().max() < cert.rows.iter().min()); // strictly below
/// assert!(cert.verify());
/// ```
pub fn softmax_exceeds_key_dimension_below(dk: usize) -> Option<RankCertificate> {
    let rows: Vec<usize> = (dk + 1..=2 * dk + 1).collect();
    let cols: Vec<usize> = (0..=dk).collect();
    let head = softmax_rank_family_of_length(dk, 2 * dk + 2);
    certify_softmax_rank(&head, &rows, &cols, KEY_DIMENSION_BITS)
}

/// Significant bits of the T19a certificates' interval arithmetic.
pub const KEY_DIMENSION_BITS: u32 = 128;

/// Whether a rational interval enclosure of a softmax matrix is consistent with row
/// stochasticity: every causal entry's enclosure is positive and every row-sum enclosure
/// contains 1 (the soundness side of T6a).
pub fn enclosure_is_stochastic(enc: &[Vec<Interval>]) -> bool {
    enc.iter().enumerate().all(|(i, row)| {
        row[..=i].iter().all(|iv| iv.lo().is_positive())
            && row[..=i]
                .iter()
                .skip(1)
                .fold(row[0].clone(), |a, b| a.add(b))
                .contains(&Exact::one())
    })
}
