(* Shared definitions: one S6 channel, its recurrent scan and its hidden
   attention matrix.  Indices are 0-based ('I_L for time, 'I_N for state),
   as in the Rust crate.

   One channel on a sequence of length L with state size N, at step t:
     h_t = Abar_t .* h_{t-1} + Bbar_t x_t,   h_{-1} = 0,   y_t = <C_t, h_t>
   and its hidden attention matrix
     alpha_{ij} = sum_n C_i[n] (prod_{k=j+1}^{i} Abar_k[n]) Bbar_j[n]  (j <= i),
     alpha_{ij} = 0                                                     (j > i). *)

From mathcomp Require Import all_ssreflect ssralg matrix.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Channel.

Variable R : comRingType.
Variables L N : nat.

(* The discretised channel: Abar t n, Bbar t n, C t n, and the input x t. *)
Variables (Abar Bbar C : 'I_L -> 'I_N -> R) (x : 'I_L -> R).

(* A time-indexed quantity read at a natural-number step (0 past the end). *)
Definition at_step (f : 'I_L -> R) (k : nat) : R :=
  if insub k is Some i then f i else 0.

Lemma at_stepE (f : 'I_L -> R) (i : 'I_L) : at_step f i = f i.
Proof. by rewrite /at_step valK. Qed.

Lemma at_stepS (f : 'I_L -> R) m (lt_mL : (m < L)%N) :
  at_step f m = f (Ordinal lt_mL).
Proof. by rewrite /at_step insubT. Qed.

(* [state m n]: entry n of the hidden state after the first m steps
   (so [state 0 = 0] is the state before step 0). *)
Fixpoint state (m : nat) (n : 'I_N) : R :=
  match m with
  | 0 => 0
  | m'.+1 => at_step (fun k => Abar k n) m' * state m' n
             + at_step (fun k => Bbar k n) m' * at_step x m'
  end.

(* The hidden state h_t after step t, and the output y_t = <C_t, h_t>. *)
Definition hidden (t : 'I_L) (n : 'I_N) : R := state t.+1 n.

Definition output (t : 'I_L) : R := \sum_(n < N) C t n * hidden t n.

(* The recurrence, read back on ordinals. *)
Lemma state0 n : state 0 n = 0.
Proof. by []. Qed.

Lemma hiddenE (t : 'I_L) n :
  hidden t n = Abar t n * state t n + Bbar t n * x t.
Proof. by rewrite /hidden /= !at_stepE. Qed.

(* prod_{k=j+1}^{i} Abar_k[n]; empty (= 1) when i <= j. *)
Definition gate_prod (j i : 'I_L) (n : 'I_N) : R :=
  \prod_(k < L | (j < k <= i)%N) Abar k n.

(* The hidden attention matrix. *)
Definition alpha (i j : 'I_L) : R :=
  if (j <= i)%N then \sum_(n < N) C i n * gate_prod j i n * Bbar j n else 0.

Definition alpha_mx : 'M[R]_L := \matrix_(i, j) alpha i j.

Lemma alpha_upper (i j : 'I_L) : (i < j)%N -> alpha i j = 0.
Proof. by rewrite /alpha ltnNge => /negbTE ->. Qed.

Lemma alpha_lower (i j : 'I_L) : (j <= i)%N ->
  alpha i j = \sum_(n < N) C i n * gate_prod j i n * Bbar j n.
Proof. by rewrite /alpha => ->. Qed.

Lemma gate_prod_diag (i : 'I_L) n : gate_prod i i n = 1.
Proof.
by rewrite /gate_prod big_pred0 // => k; rewrite ltnNge andNb.
Qed.

(* Splitting a gate product at an intermediate time. *)
Lemma gate_prod_split (j' j i : 'I_L) n : (j' <= j)%N -> (j <= i)%N ->
  gate_prod j' i n = gate_prod j' j n * gate_prod j i n.
Proof.
move=> le_j'j le_ji; rewrite /gate_prod (bigID (fun k : 'I_L => (k <= j)%N)) /=.
congr (_ * _); apply: eq_bigl => k; case: (leqP k j) => kj; rewrite ?andbT ?andbF //.
  by rewrite (leq_trans kj le_ji) andbT.
by rewrite (leq_ltn_trans le_j'j kj).
Qed.

End Channel.
