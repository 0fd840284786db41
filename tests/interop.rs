//! `nalgebra::DMatrix` in and out (feature `nalgebra`): exact round trips in f32, f64 and
//! the rationals, entry (i, j) kept in place, shape errors named, and T4/T5 from a DMatrix
//! checked exactly — and against nalgebra's own SVD.
#![cfg(feature = "nalgebra")]

use hidden_attention::construct::{generator_form, realise_full, realise_minimal};
use hidden_attention::error::Error;
use hidden_attention::interop::{channel_factors, channel_from_factors};
use hidden_attention::scalar::{ratio, Exact, Field};
use hidden_attention::semiseparable::{
    default_threshold, semiseparable_rank_exact, semiseparable_rank_f64,
};
use hidden_attention::ssm::attention_matrix;
use hidden_attention::strategies;
use hidden_attention::tensor::{Matrix, Tensor};
use nalgebra::DMatrix;
use proptest::prelude::*;

/// An `r × c` matrix whose entry (i, j) tells its place: 10 i + j, in the field.
fn placed<T: Field>(r: usize, c: usize, of: impl Fn(i64) -> T) -> Matrix<T> {
    let data = (0..r * c)
        .map(|k| of(10 * (k / c) as i64 + (k % c) as i64))
        .collect();
    Matrix::from_row_major(r, c, data).unwrap()
}

fn entries_in_place<T: Field>(of: impl Fn(i64) -> T + Copy) {
    for (r, c) in [(0, 0), (0, 3), (2, 0), (1, 1), (2, 3), (3, 2), (4, 4)] {
        let m = placed(r, c, of);
        let d = DMatrix::from(&m);
        assert_eq!(d.shape(), (r, c));
        for i in 0..r {
            for j in 0..c {
                assert_eq!(
                    d[(i, j)],
                    of(10 * i as i64 + j as i64),
                    "({i}, {j}) of {r}×{c}"
                );
            }
        }
        assert_eq!(Matrix::from(&d), m);
        assert_eq!(Matrix::from(DMatrix::from(m.clone())), m);
        let t = Tensor::from(&d);
        assert_eq!(t.shape(), [r, c]);
        assert_eq!(t.data(), m.data());
        assert_eq!(DMatrix::try_from(&t).unwrap(), d);
    }
}

#[test]
fn entries_keep_their_place_in_every_field() {
    entries_in_place(|v| v as f32);
    entries_in_place(|v| v as f64);
    entries_in_place(|v| ratio(v, 7));
}

/// Bits survive: −0, subnormals, the extremes (f32 and f64), and rationals of any size.
#[test]
fn round_trips_are_exact() {
    let f64s = [
        -0.0,
        5e-324,
        -2.2250738585072014e-308,
        f64::MAX,
        0.1,
        -1.0 / 3.0,
    ];
    let m = Matrix::from_row_major(2, 3, f64s.to_vec()).unwrap();
    let back = Matrix::from(&DMatrix::from(&m));
    let bits = |m: &Matrix<f64>| m.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&m));
    let f32s = [-0.0f32, 1e-45, f32::MIN, 0.1, 3.0e38, -7.5];
    let m = Matrix::from_row_major(3, 2, f32s.to_vec()).unwrap();
    let back = Matrix::from(&DMatrix::from(&m));
    assert!(back
        .data()
        .iter()
        .zip(m.data())
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    let big: Exact = Exact::new(
        "123456789012345678901234567890".parse().unwrap(),
        "987654321098765432109876543211".parse().unwrap(),
    );
    let m = Matrix::from_row_major(1, 2, vec![big.clone(), -big]).unwrap();
    assert_eq!(Matrix::from(&DMatrix::from(&m)), m);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any rational lower-triangular matrix (L ≤ 8) through a DMatrix and back, and its
    /// full realisation (T5) from the DMatrix, whose α̃ is the DMatrix again, exactly.
    #[test]
    fn rational_round_trip_and_t5(m in strategies::rational_lower_triangular(1..=8)) {
        let d = DMatrix::from(&m);
        prop_assert_eq!(Matrix::from(&d), m.clone());
        let ch = realise_full(&Matrix::from(&d)).unwrap();
        prop_assert_eq!(DMatrix::from(attention_matrix(&ch).unwrap()), d);
    }
}

#[test]
fn tensors_of_other_ranks_are_refused_naming_the_rank() {
    for shape in [vec![4], vec![2, 2, 1], vec![]] {
        let n = shape.iter().product();
        let t = Tensor::new("t", shape.clone(), vec![1.0f64; n]).unwrap();
        let e = DMatrix::try_from(&t).unwrap_err();
        assert!(
            matches!(e, Error::Rank { expected: 2, found, .. } if found == shape.len()),
            "{e}"
        );
    }
}

#[test]
fn channel_factors_round_trip_and_shape_errors_name_the_factor() {
    let f = |r: usize, c: usize| DMatrix::from_fn(r, c, |i, j| ratio(i as i64 + 1, j as i64 + 2));
    let (abar, bbar, c) = (
        f(3, 2),
        f(3, 2).map(|v| -v),
        f(3, 2).transpose().transpose(),
    );
    let ch = channel_from_factors(&abar, &bbar, &c).unwrap();
    assert_eq!((ch.len(), ch.state()), (3, 2));
    assert_eq!(*ch.abar(1).last().unwrap(), ratio(2, 3));
    assert_eq!(
        channel_factors(&ch),
        (abar.clone(), bbar.clone(), c.clone())
    );
    for (b, cc, tensor, dim, name, expected, found) in [
        (f(2, 2), f(3, 2), "Bbar", 0, "L", 3, 2),
        (f(3, 1), f(3, 2), "Bbar", 1, "N", 2, 1),
        (f(3, 2), f(4, 2), "C", 0, "L", 3, 4),
        (f(3, 2), f(3, 3), "C", 1, "N", 2, 3),
    ] {
        let e = channel_from_factors(&abar, &b, &cc).unwrap_err();
        match &e {
            Error::Shape {
                tensor: t,
                dim: d,
                name: n,
                expected: x,
                found: y,
            } => {
                assert_eq!(
                    (&t[..], *d, &n[..], *x, *y),
                    (tensor, dim, name, expected, found),
                    "{e}"
                );
            }
            other => panic!("{other}"),
        }
    }
    let e = channel_from_factors(&f(3, 0), &f(3, 0), &f(3, 0)).unwrap_err();
    assert!(e.to_string().contains("`state`"), "{e}");
    let mut nan = DMatrix::from_element(2, 1, 1.0f64);
    nan[(1, 0)] = f64::NAN;
    let one = DMatrix::from_element(2, 1, 1.0f64);
    let e = channel_from_factors(&one, &nan, &one).unwrap_err();
    assert!(
        matches!(e, Error::NonFinite { ref tensor, .. } if tensor == "Bbar"),
        "{e}"
    );
}

/// A rank-2 lower-triangular DMatrix: the minimal realisation has state 2 (its
/// semiseparable rank), the generator form reproduces it, both exactly.
#[test]
fn minimal_realisation_from_a_dmatrix_is_exact() {
    let u = [
        ratio(1, 1),
        ratio(-2, 3),
        ratio(1, 2),
        ratio(3, 1),
        ratio(0, 1),
    ];
    let v = [
        ratio(1, 1),
        ratio(1, 1),
        ratio(-1, 5),
        ratio(2, 1),
        ratio(1, 3),
    ];
    let d = DMatrix::from_fn(5, 5, |i, j| {
        if j <= i {
            u[i].clone() * &v[j] + ratio((i == j) as i64, 1)
        } else {
            ratio(0, 1)
        }
    });
    let m = Matrix::from(&d);
    assert_eq!(semiseparable_rank_exact(&m).rank, 2);
    let minimal = realise_minimal(&m).unwrap();
    assert_eq!(minimal.state(), 2);
    assert_eq!(DMatrix::from(minimal.attention()), d);
    let g = generator_form(&m).unwrap();
    assert_eq!(DMatrix::from(attention_matrix(&g).unwrap()), d);
}

/// The crate's float semiseparable rank of α̃ (faer's SVD per block) agrees with the rank
/// read off nalgebra's SVD of the same blocks under the same threshold.
#[test]
fn float_semiseparable_rank_agrees_with_nalgebra_svd() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = strategies::mamba_like_channel_with_input::<f64>(6..=24, 1..=4);
    for _ in 0..24 {
        let (ch, _) = strategy.new_tree(&mut runner).unwrap().current();
        let d = DMatrix::from(attention_matrix(&ch).unwrap());
        let ours = semiseparable_rank_f64(&Matrix::from(&d), 0.0);
        let l = d.nrows();
        let theirs: Vec<usize> = (0..l)
            .map(|j| {
                let block = d.view((j, 0), (l - j, j + 1)).into_owned();
                let s = block.singular_values();
                let smax = s.iter().copied().fold(0.0, f64::max);
                let tol = default_threshold(smax, block.nrows(), block.ncols());
                s.iter().filter(|&&x| x > tol).count()
            })
            .collect();
        assert_eq!(ours.ranks, theirs, "L = {l}, N = {}", ch.state());
        assert!(
            ours.rank <= ch.state(),
            "T4: rank {} > N = {}",
            ours.rank,
            ch.state()
        );
    }
}
