//! `softmax-in-channel` against independent constructions, on the very cases the search
//! draws (the conjecture's strategy with the search's seeded ChaCha runner).

use std::sync::atomic::AtomicBool;

use hidden_attention::attention::SoftmaxHead;
use hidden_attention::construct::realise_full;
use hidden_attention::construct::separation::certify_softmax_rank;
use hidden_attention::interval::softmax_enclosure;
use hidden_attention::refute::softmax_in_channel::{SoftmaxInChannel, BITS};
use hidden_attention::refute::{replay_builtin, search_builtin, Conjecture, Params};
use hidden_attention::report::Outcome;
use hidden_attention::scalar::Exact;
use hidden_attention::ssm::attention_matrix as alpha;
use hidden_attention::tensor::Matrix;
use hidden_attention::theorems::seed_bytes;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// The cases a search with `p` draws, in order.
fn drawn(p: &Params) -> Vec<SoftmaxHead<Exact>> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(p.seed));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let s = SoftmaxInChannel.strategy(p);
    (0..p.cases)
        .map(|_| s.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// All `k`-subsets of `from`.
fn subsets(from: &[usize], k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for (i, &x) in from.iter().enumerate() {
        for mut rest in subsets(&from[i + 1..], k - 1) {
            rest.insert(0, x);
            out.push(rest);
        }
    }
    out
}

/// Independent oracle: some (N+1)-minor inside some block H_j has a certified nonzero
/// determinant (brute force over every block and every choice of rows and columns).
fn refutable(head: &SoftmaxHead<Exact>, state: usize) -> bool {
    let (l, k) = (head.len(), state + 1);
    (0..l).any(|j| {
        let (rows, cols): (Vec<usize>, Vec<usize>) = ((j..l).collect(), (0..=j).collect());
        subsets(&rows, k).iter().any(|r| {
            subsets(&cols, k)
                .iter()
                .any(|c| certify_softmax_rank(head, r, c, BITS).is_some())
        })
    })
}

#[test]
fn softmax_in_channel_holds_when_the_state_covers_the_length() {
    // N = L: T5's full-state realisation (Ā ≡ 1, B̄_j = e_j, C_i = row i) reproduces every
    // lower-triangular matrix, so no case may be refuted, and the search must have checked
    // all of them.
    let p = Params {
        len: 3,
        state: 3,
        cases: 32,
        ..Params::default()
    };
    let mut ticks = 0;
    let r = search_builtin("softmax-in-channel", &p, &AtomicBool::new(false), || {
        ticks += 1
    })
    .unwrap();
    assert_eq!(
        (r.outcome, r.search.cases_tried, ticks),
        (Outcome::NoneFound, 32, 32)
    );
    for head in drawn(&p) {
        // The head's matrix, enclosed to 2^-100: both end matrices are realised exactly by
        // the state-L construction, and α̃ is entrywise C, so the matrix between them is too.
        let enc = softmax_enclosure(&head, 128);
        let l = head.len();
        assert!(l <= p.state);
        for end in [0, 1] {
            let m = Matrix::from_row_major(
                l,
                l,
                (0..l * l)
                    .map(|t| {
                        let iv = &enc[t / l][t % l];
                        assert!(
                            iv.width() < Exact::new(1.into(), num_bigint::BigInt::from(1u8) << 100)
                        );
                        if end == 0 {
                            iv.lo().clone()
                        } else {
                            iv.hi().clone()
                        }
                    })
                    .collect(),
            )
            .unwrap();
            let ch = realise_full(&m).unwrap();
            assert_eq!(ch.state(), l);
            assert_eq!(alpha(&ch).unwrap(), m);
        }
        // And the independent oracle agrees that no (N+1)-minor exists.
        assert!(!refutable(&head, p.state));
    }
}

#[test]
fn softmax_in_channel_refutes_exactly_where_an_independent_search_does() {
    // N < L: the search's first refuted case is the first drawn case on which the
    // brute-force oracle certifies an (N+1)-minor; its report replays as a proof.
    for (len, state, seed) in [(3, 1, 0), (4, 1, 3), (5, 2, 1)] {
        let p = Params {
            len,
            state,
            cases: 24,
            seed,
            ..Params::default()
        };
        let expected = drawn(&p).iter().position(|h| refutable(h, state));
        let r = search_builtin("softmax-in-channel", &p, &AtomicBool::new(false), || {}).unwrap();
        assert_eq!(r.search.case_index, expected, "L = {len}, N = {state}");
        if expected.is_some() {
            assert_eq!(r.outcome, Outcome::Counterexample);
            assert_eq!(replay_builtin(&r).unwrap().outcome, Outcome::Counterexample);
        }
    }
}
