//! T19 — members with free queries and keys against causal softmax heads.
//!
//! **(a) Separation.** A causal softmax head whose block `$S[j.., ..j]$` has a certified
//! nonsingular `$(d_k+1)$`-minor is no head of GLA, simple GLA / SSD, RetNet, DPLR, DeltaNet
//! or Gated DeltaNet with key dimension `$d_k$`; one with such a minor strictly below the
//! diagonal, in `$S[j+1.., ..j]$`, is no RWKV-6 head of key dimension `$d_k$`. For a member
//! head `$A$`, T15 bounds the rank of those blocks by `$d_k$`, so the same minor of `$A$` is
//! singular:
//!
//! ```math
//! \det A_{R,K} = 0 \ne \det S_{R,K}\quad\Longrightarrow\quad A \ne S .
//! ```
//!
//! The T6b family gives the certificates for every `$d_k$`, at the least possible lengths
//! (a `$(d_k+1)$`-minor of `$A[j.., ..j]$` needs `$L - j \ge d_k + 1$` rows and `$j + 1 \ge
//! d_k + 1$` columns): `$L = 2d_k + 1$`, rows `$d_k..=2d_k$`
//! ([`softmax_exceeds_key_dimension`]), and `$L = 2d_k + 2$`, rows `$d_k+1..=2d_k+1$`
//! ([`softmax_exceeds_key_dimension_below`]), columns `$0..=d_k$`, `$q_i = k_i = i$`, scale
//! `$1/(d_k+1)$`: rational-interval determinants with `exp` enclosed rigorously, no libm
//! value in a certificate. Coq (`proofs/T19_SoftmaxFamily.v`, from T15's `t15_ss_rank_le_dk`
//! and `t15_rwkv6_rank_below`): `t19_softmax_not_member`, `t19_softmax_not_rwkv6`.
//!
//! **(b) Construction.** Every lower-triangular `$L\times L$` matrix — in particular any
//! causal softmax matrix, over the reals — is exactly the implicit attention of a head of
//! each free-query/key member with `$d_k = L$` ([`head_with_attention`]: `$k_s = e_s$`,
//! gates `$\equiv 1$`, `$q_t$` = row `$t$`). So such a member can equal a given softmax
//! head when `$d_k \ge L$` and cannot when `$d_k$` is below a certified block rank; HGRN and
//! RG-LRU never can (T17, row sums), and no member head with a negative or zero causal
//! entry can (T6a).
// A failing case returns the whole counterexample by value (as t1 and t2 do).
#![allow(clippy::result_large_err)]

use super::t14::diagonal_channel;
use super::t3::fail;
use super::t6::{closed_form_encloses, float_determinant_agrees};
use super::{CaseResult, Theorem};
use crate::construct::separation::{
    softmax_exceeds_key_dimension, softmax_exceeds_key_dimension_below, softmax_obstruction,
    RankCertificate,
};
use crate::family::linear::any_attention::{head_with_attention, FREE_QUERY_KEY};
use crate::family::linear::{FamilyHead, Member, Readout};
use crate::scalar::{ratio, Exact};
use crate::semiseparable::{rank_exact, submatrix};
use crate::tensor::Matrix;

/// Statement of T19.
pub const THEOREM: Theorem = Theorem {
    id: "T19",
    statement: "(a) a softmax head with a certified nonsingular (d_k+1)-minor in a block S[j.., ..j] (RWKV-6: strictly below, S[j+1.., ..j]) is no member head of key dimension d_k (T15); the T6b family gives one at L = 2d_k+1 (RWKV-6: 2d_k+2); (b) every lower-triangular matrix is a free-query/key member head's attention with d_k = L",
};

/// Which T19a certificate: through the diagonal (every member but RWKV-6) or strictly
/// below it (RWKV-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// The minor lies in `$S[j.., ..j]$` (columns `$\le$` rows).
    ThroughDiagonal,
    /// The minor lies in `$S[j+1.., ..j]$` (columns `$<$` rows).
    StrictlyBelow,
}

/// The T19a certificate for key dimension `dk` and `placement`, recomputed.
pub fn certificate(dk: usize, placement: Placement) -> Option<RankCertificate> {
    match placement {
        Placement::ThroughDiagonal => softmax_exceeds_key_dimension(dk),
        Placement::StrictlyBelow => softmax_exceeds_key_dimension_below(dk),
    }
}

/// The placements whose certificates separate a head with this readout: both for a head
/// that reads after the step, only [`Placement::StrictlyBelow`] for RWKV-6's readout (its
/// blocks through the diagonal may reach rank `$d_k + 1$`).
pub fn placements(readout: &Readout<Exact>) -> &'static [Placement] {
    match readout {
        Readout::After => &[Placement::ThroughDiagonal, Placement::StrictlyBelow],
        Readout::BeforeWithBonus(_) => &[Placement::StrictlyBelow],
    }
}

/// Verify a T19a certificate for key dimension `dk`, independently of how it was built:
/// size `$d_k + 1$`, the least length (`$2d_k + 1$`, strictly below `$2d_k + 2$`), the
/// placement, the enclosure recomputed from the head ([`RankCertificate::verify`]), the
/// closed form `$\prod_i r_i\prod_{i<i'}(w_{i'} - w_i)$` of the Vandermonde-type minor inside
/// the enclosure (f64, sign and `$\ln|\det|$`), and the f64 LU determinant inside it.
pub fn verify_certificate(
    cert: &RankCertificate,
    dk: usize,
    placement: Placement,
) -> Result<(), String> {
    let (len, first) = match placement {
        Placement::ThroughDiagonal => (2 * dk + 1, dk),
        Placement::StrictlyBelow => (2 * dk + 2, dk + 1),
    };
    if cert.size() != dk + 1 || cert.head.len() != len {
        return Err(format!(
            "{placement:?} certificate of size {} on L = {} for d_k = {dk} (want {} on L = {len})",
            cert.size(),
            cert.head.len(),
            dk + 1
        ));
    }
    let (min_row, max_col) = (cert.rows.iter().min(), cert.cols.iter().max());
    let placed = match placement {
        Placement::ThroughDiagonal => max_col <= min_row,
        Placement::StrictlyBelow => max_col < min_row,
    };
    if !placed || cert.rows.first() != Some(&first) {
        return Err(format!(
            "rows {:?}, columns {:?} are not {placement:?} from row {first}",
            cert.rows, cert.cols
        ));
    }
    if !cert.verify() {
        return Err("the enclosure does not re-verify from the head".into());
    }
    let params = [
        ratio(0, 1),
        ratio(1, 1),
        ratio(0, 1),
        ratio(1, 1),
        ratio(1, dk as i64 + 1),
    ];
    if cert.head != crate::construct::separation::softmax_rank_family_of_length(dk, len) {
        return Err("the head is not the T6b family head".into());
    }
    closed_form_encloses(cert, &params)?;
    float_determinant_agrees(cert)
}

/// Exact check of T19 on a member head `$H$` of key dimension `$d_k$` and length
/// `$\ge 2d_k + 2$`, and a lower-triangular rational matrix `$T$`:
///
/// - (a) for each placement that applies to `$H$`'s readout ([`placements`]) the
///   certificate is rebuilt and verified ([`verify_certificate`]), and the same minor of
///   `$H$`'s implicit attention is singular, exactly (rank `$\le d_k$` with its witness) —
///   so `$H$` differs from the softmax head there;
/// - (a, T6a) an obstruction found on `$H$`'s attention re-verifies;
/// - (b) for every free-query/key member, [`head_with_attention`]`(member, T)` has implicit
///   attention `$T$` and its recurrence on the values `$V = I$` outputs `$T$`, exactly;
///   `$H$`'s own attention is a GLA head's with `$d_k = L$`; an entry above the diagonal
///   of `$T$` and the members HGRN and RG-LRU are refused by name.
pub fn check_exact(case: &(FamilyHead<Exact>, Matrix<Exact>)) -> CaseResult {
    let (head, target) = case;
    let f = |what: String| fail(THEOREM.id, "exact", what, diagonal_channel(head));
    let a = head.attention_matrix().map_err(|e| f(e.to_string()))?;
    let dk = head.dk;
    for &placement in placements(&head.readout) {
        let cert = verified_certificate(dk, placement).map_err(f)?;
        if cert.rows.iter().any(|&r| r >= head.len()) {
            continue;
        }
        let minor = submatrix(&a, &cert.rows, &cert.cols);
        let (r, w) = rank_exact(&minor);
        if r > dk || !w.verify(&minor) {
            return Err(f(format!(
                "{placement:?}: the head's minor on rows {:?}, columns {:?} has rank {r} > d_k = {dk}: the certificate does not separate it",
                cert.rows, cert.cols
            )));
        }
    }
    if let Some(ob) = softmax_obstruction(&a) {
        if !ob.verify(&a) {
            return Err(f(format!("obstruction `{ob}` does not re-verify")));
        }
    }
    check_construction(target).map_err(|e| f(format!("target {target:?}: {e}")))?;
    check_construction(&a).map_err(|e| f(format!("the head's own attention: {e}")))?;
    Ok(None)
}

/// The certificate of `$d_k$` and `placement`, built and verified once per process: it
/// depends on nothing else, so every case of the row re-uses the same verdict (the
/// per-case part of the check is the member head's minor and the constructions).
fn verified_certificate(dk: usize, placement: Placement) -> Result<RankCertificate, String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Verified = HashMap<(usize, Placement), Result<RankCertificate, String>>;
    static CACHE: OnceLock<Mutex<Verified>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = cache
        .lock()
        .map_err(|e| e.to_string())?
        .get(&(dk, placement))
    {
        return v.clone();
    }
    let v = certificate(dk, placement)
        .ok_or_else(|| format!("d_k = {dk}: no {placement:?} certificate"))
        .and_then(|cert| {
            verify_certificate(&cert, dk, placement)
                .map(|_| cert)
                .map_err(|e| format!("d_k = {dk}, {placement:?}: {e}"))
        });
    cache
        .lock()
        .map_err(|e| e.to_string())?
        .insert((dk, placement), v.clone());
    v
}

/// T19b on one lower-triangular matrix `t`: every free-query/key member realises it with
/// `$d_k = L$` (attention and recurrence, exactly), and the refusals name what is wrong.
fn check_construction(t: &Matrix<Exact>) -> Result<(), String> {
    let l = t.rows();
    let identity: Vec<Exact> = (0..l * l)
        .map(|i| ratio(i64::from(i / l == i % l), 1))
        .collect();
    for member in FREE_QUERY_KEY {
        let h = head_with_attention(member, t).map_err(|e| format!("{}: {e}", member.name()))?;
        if h.dk != l {
            return Err(format!("{}: d_k = {} ≠ L = {l}", member.name(), h.dk));
        }
        let a = h.attention_matrix().map_err(|e| e.to_string())?;
        if &a != t {
            return Err(format!("{}: attention {a:?}", member.name()));
        }
        // the recurrence, independently of the closed form: o = T V with V = I
        let (o, _) = h.run(&identity, l).map_err(|e| e.to_string())?;
        if o != t.data() {
            return Err(format!("{}: recurrence outputs {o:?}", member.name()));
        }
    }
    for member in [Member::Hgrn, Member::Rglru] {
        if head_with_attention(member, t).is_ok() {
            return Err(format!("{} accepted", member.name()));
        }
    }
    if l >= 2 {
        let mut upper = t.clone();
        *upper.get_mut(0, l - 1) = ratio(1, 1);
        match head_with_attention(Member::Gla, &upper) {
            Err(crate::Error::InvalidArgument { name, .. })
                if name == format!("a[0][{}]", l - 1) => {}
            other => return Err(format!("an entry above the diagonal gave {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The certificates exist for small `$d_k$`, and a certificate placed wrongly, or from
    /// another head, is rejected.
    #[test]
    fn certificates_verify_and_edits_are_rejected() {
        for dk in 1..=3 {
            for p in [Placement::ThroughDiagonal, Placement::StrictlyBelow] {
                let c = certificate(dk, p).unwrap();
                assert_eq!(verify_certificate(&c, dk, p), Ok(()), "{dk} {p:?}");
            }
        }
        let through = certificate(2, Placement::ThroughDiagonal).unwrap();
        // the through-diagonal minor is not strictly below
        let mut moved = through.clone();
        moved.head = crate::construct::separation::softmax_rank_family_of_length(2, 6);
        assert!(verify_certificate(&moved, 2, Placement::StrictlyBelow).is_err());
        // an edited enclosure does not re-verify
        let mut edited = through.clone();
        edited.determinant = crate::interval::Interval::point(ratio(1, 1));
        assert!(verify_certificate(&edited, 2, Placement::ThroughDiagonal).is_err());
        // a certificate for d_k = 1 is no certificate for d_k = 2
        let small = certificate(1, Placement::ThroughDiagonal).unwrap();
        assert!(verify_certificate(&small, 2, Placement::ThroughDiagonal).is_err());
    }
}
