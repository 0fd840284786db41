//! Semiseparable rank (T4), realisation state (T5) and softmax rank certificates (T6b).

use hidden_attention::construct::separation::{
    certify_softmax_rank, softmax_exceeds_state, softmax_rank_family,
};
use hidden_attention::construct::{realise_diagonal, realise_minimal, DiagonalOutcome};
use hidden_attention::scalar::{ratio, Exact, Field};
use hidden_attention::semiseparable::{
    block, channel_block_factorisation, rank_exact, semiseparable_rank_exact,
    semiseparable_rank_f64, singular_values, submatrix,
};
use hidden_attention::ssm::attention_matrix as alpha;
use hidden_attention::strategies;
use hidden_attention::tensor::Matrix;
use proptest::prelude::*;

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg(64))]

    /// T4 exact: rank ≤ N, the witness re-verifies and is maximal in its block.
    #[test]
    fn channel_attention_is_n_semiseparable((ch, _) in strategies::rational_channel_with_input(1..=10, 1..=4)) {
        let a = alpha(&ch).unwrap();
        let s = semiseparable_rank_exact(&a);
        prop_assert!(s.rank <= ch.state());
        prop_assert!(s.rank == 0 || s.witness.verify(&a));
        prop_assert_eq!(s.witness.size(), s.rank);
        prop_assert!(s.witness.cols.iter().max() <= s.witness.rows.iter().min());
    }

    /// T4 upper bound: every block H_j of α̃ is U Vᵀ with N columns, the factors built
    /// from the channel alone; so the exact block rank is ≤ N.
    #[test]
    fn every_block_factors_through_the_state((ch, _) in strategies::rational_channel_with_input(1..=10, 1..=4)) {
        let a = alpha(&ch).unwrap();
        for j in 0..ch.len() {
            let f = channel_block_factorisation(&ch, j).unwrap();
            prop_assert_eq!(f.rank_bound(), ch.state());
            prop_assert!(f.verify(&a), "split {}", j);
            prop_assert!(rank_exact(&block(&a, j).0).0 <= ch.state());
        }
    }

    /// T4 f64: faer's numerical rank of every block stays ≤ N on Mamba-like channels.
    #[test]
    fn float_rank_at_most_state((ch, _) in strategies::mamba_like_channel_with_input::<f64>(1..=32, 1..=6)) {
        let a = alpha(&ch).unwrap();
        let mag = alpha(&ch.map(|v| v.abs())).unwrap();
        let fro = mag.data().iter().map(|v| v * v).sum::<f64>().sqrt();
        let s = semiseparable_rank_f64(&a, 1e-13 * fro);
        prop_assert!(s.rank <= ch.state(), "rank {} > N = {}: σ = {:?}", s.rank, ch.state(), s.singular_values);
    }

    /// Prescribed rank: the strategy's rank is exact and the minimal realisation has it.
    #[test]
    fn prescribed_rank_is_realised(m in strategies::lower_triangular_with_rank(2..=8, 1..=3)) {
        let s = semiseparable_rank_exact(&m);
        let r = realise_minimal(&m).unwrap();
        prop_assert_eq!(r.state(), s.rank);
        prop_assert_eq!(r.attention(), m);
    }

    /// T6b on random softmax heads: the float-guided witness is certified in interval
    /// arithmetic, re-verifies, and matches the float rank.
    #[test]
    fn random_softmax_heads_are_certified(h in strategies::rational_softmax_head(1..=7, 1..=3)) {
        let cert = hidden_attention::construct::separation::certify_softmax_head(&h, 128).expect("a positive entry at least");
        prop_assert!(cert.verify());
        let a = h.map(Field::to_f64).attention().unwrap();
        prop_assert!(cert.size() <= semiseparable_rank_f64(&a, 0.0).rank);
        prop_assert!(cert.size() >= 1);
    }

    /// Exact rank agrees with the float rank on small integer matrices.
    #[test]
    fn exact_and_float_rank_agree(m in strategies::rational_lower_triangular(1..=6)) {
        let (r, w) = rank_exact(&m);
        prop_assert!(r == 0 || w.verify(&m));
        let f = m.map(Field::to_f64);
        let sv = singular_values(&f);
        let tol = sv.first().copied().unwrap_or(0.0) * 6.0 * f64::EPSILON * 8.0;
        prop_assert_eq!(sv.iter().filter(|&&s| s > tol).count(), r);
    }
}

#[test]
fn witness_of_a_known_block() {
    // α̃ of the docs' running example: H_1 = [[1/6, 3], [2, 23/2]], det = −49/12
    let m = Matrix::from_row_major(
        3,
        3,
        vec![
            ratio(3, 2),
            ratio(0, 1),
            ratio(0, 1),
            ratio(1, 6),
            ratio(3, 1),
            ratio(0, 1),
            ratio(2, 1),
            ratio(23, 2),
            ratio(-6, 1),
        ],
    )
    .unwrap();
    let s = semiseparable_rank_exact(&m);
    assert_eq!((s.rank, s.split, s.ranks.clone()), (2, 1, vec![1, 2, 1]));
    assert_eq!(
        (s.witness.rows.clone(), s.witness.cols.clone()),
        (vec![1, 2], vec![0, 1])
    );
    assert_eq!(
        hidden_attention::semiseparable::determinant(&submatrix(&m, &[1, 2], &[0, 1])),
        ratio(-49, 12)
    );
    let DiagonalOutcome::Found(ch) = realise_diagonal(&m).unwrap() else {
        panic!("diagonal realisation")
    };
    assert_eq!(ch.state(), 2);
    assert_eq!(alpha(&ch).unwrap(), m);
}

#[test]
fn softmax_family_exceeds_every_small_state() {
    for n in 1..=5 {
        let cert = softmax_exceeds_state(n).expect("enclosure excludes 0");
        assert_eq!(cert.size(), n + 1);
        assert!(cert.verify());
        // the float matrix agrees: rank of the certified block is n + 1
        let a = softmax_rank_family(n)
            .map(Field::to_f64)
            .attention()
            .unwrap();
        assert!(semiseparable_rank_f64(&a, 0.0).rank > n);
    }
    // n = 1 by hand: det = (e − √e) / ((1 + √e)(1 + e + e²)) ≈ 0.036358
    let c = softmax_exceeds_state(1).unwrap();
    let e = std::f64::consts::E;
    let det = (e - e.sqrt()) / ((1.0 + e.sqrt()) * (1.0 + e + e * e));
    assert!(c.determinant.lo().to_f64() <= det && det <= c.determinant.hi().to_f64());
    assert!((c.determinant.hi().clone() - c.determinant.lo().clone()) < ratio(1, 1 << 40));
}

#[test]
fn certificate_rejects_bad_submatrices() {
    let h = softmax_rank_family(2);
    assert!(
        certify_softmax_rank(&h, &[1, 2], &[0, 2], 64).is_none(),
        "column 2 lies above row 1"
    );
    assert!(
        certify_softmax_rank(&h, &[3, 4], &[0], 64).is_none(),
        "not square"
    );
    assert!(
        certify_softmax_rank(&h, &[3, 9], &[0, 1], 64).is_none(),
        "row out of range"
    );
    let mut c = softmax_exceeds_state(2).unwrap();
    c.rows = vec![2, 3, 4];
    c.cols = vec![0, 1, 1];
    assert!(!c.verify(), "a repeated column is singular");
}

#[test]
fn diagonal_realisation_rate_on_prescribed_ranks() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let s = strategies::lower_triangular_with_rank(4..=8, 1..=3);
    let mut runner = TestRunner::deterministic();
    let (mut found, mut total) = (0, 0);
    for _ in 0..40 {
        let m: Matrix<Exact> = s.new_tree(&mut runner).unwrap().current();
        total += 1;
        match realise_diagonal(&m).unwrap() {
            DiagonalOutcome::Found(ch) => {
                found += 1;
                assert_eq!(alpha(&ch).unwrap(), m);
            }
            DiagonalOutcome::NotFound(ce) => {
                assert_eq!(alpha(&ce.best).unwrap(), m);
                assert!(ce.best.state() > ce.rank);
            }
        }
    }
    eprintln!("diagonal realisation with N = rank found for {found}/{total}");
    assert!(found * 2 >= total, "found only {found}/{total}");
}

/// A factorisation certifies rank ≤ N only if it reproduces the block exactly: an altered
/// factor, a dropped column, another split or another channel's matrix are rejected.
#[test]
fn factorisation_rejects_tampering() {
    let r = |p: i64, q: i64| ratio(p, q);
    let ch = hidden_attention::ssm::Channel::new(
        5,
        2,
        (0..10).map(|i| r(i % 3 + 1, 4)).collect(),
        (0..10).map(|i| r(i - 4, 3)).collect(),
        (0..10).map(|i| r(2 * i + 1, 5)).collect(),
    )
    .unwrap();
    let a = alpha(&ch).unwrap();
    let f = channel_block_factorisation(&ch, 2).unwrap();
    assert!(f.verify(&a));
    assert_eq!((f.u.rows(), f.v.rows(), f.rank_bound()), (3, 3, 2));
    let mut altered = f.clone();
    *altered.u.get_mut(1, 0) += r(1, 1);
    assert!(!altered.verify(&a));
    // H_2 has rank 2 here: one column cannot reproduce it
    assert_eq!(rank_exact(&block(&a, 2).0).0, 2);
    let col0 = |m: &Matrix<Exact>| {
        Matrix::from_row_major(
            m.rows(),
            1,
            (0..m.rows()).map(|i| m.get(i, 0).clone()).collect(),
        )
        .unwrap()
    };
    let narrow = hidden_attention::semiseparable::BlockFactorisation {
        split: 2,
        u: col0(&f.u),
        v: col0(&f.v),
    };
    assert!(!narrow.verify(&a));
    let mut moved = f.clone();
    moved.split = 1;
    assert!(!moved.verify(&a));
    let mut other = a.clone();
    *other.get_mut(4, 0) += r(1, 7);
    assert!(!f.verify(&other));
    assert!(channel_block_factorisation(&ch, 5).is_err());
}
