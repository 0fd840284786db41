(* T5 - realisation.
   Every lower-triangular L x L matrix M is the hidden attention matrix of a
   channel: N = L always suffices, with Abar = 1, C_i = row i of M and
   Bbar_j = e_j (the j-th unit vector).  Conversely every hidden attention
   matrix is lower triangular.  The state size of any realisation is at
   least the semiseparable rank of M: if M = alpha of a channel with state
   size N, every block M[j..L-1, 0..j] has rank at most N (from T4). *)

From mathcomp Require Import all_ssreflect ssralg matrix mxalgebra.
From HiddenAttention Require Import Channel T4_Semiseparable.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Definition lower_triangular (R : ringType) L (M : 'M[R]_L) : Prop :=
  forall i j : 'I_L, (i < j)%N -> M i j = 0.

Section FullStateRealisation.

Variable R : comRingType.
Variable L : nat.

(* The full-state realisation of M: N = L, Abar = 1, Bbar_j = e_j, C_i = M_i. *)
Definition real_Abar (k n : 'I_L) : R := 1.
Definition real_Bbar (j n : 'I_L) : R := (j == n)%:R.
Definition real_C (M : 'M[R]_L) (i n : 'I_L) : R := M i n.

Lemma alpha_mx_lower N (Abar Bbar C : 'I_L -> 'I_N -> R) :
  lower_triangular (alpha_mx Abar Bbar C).
Proof. by move=> i j lt_ij; rewrite mxE alpha_upper. Qed.

(* T5: every lower-triangular matrix is the hidden attention matrix of the
   channel with N = L, Abar = 1, C_i = row i of M, Bbar_j = e_j. *)
Theorem t5_realisation_full_state (M : 'M[R]_L) :
  lower_triangular M -> alpha_mx real_Abar real_Bbar (real_C M) = M.
Proof.
move=> M_low; apply/matrixP => i j; rewrite mxE.
case: (leqP j i) => [le_ji|lt_ij]; last by rewrite alpha_upper // M_low.
rewrite alpha_lower // (bigD1 j) //= big1 => [|n ne_nj].
  by rewrite /real_Bbar /real_C /gate_prod big1_eq eqxx !mulr1 addr0.
by rewrite /real_Bbar eq_sym (negbTE ne_nj) mulr0.
Qed.

(* T5: a matrix is the hidden attention matrix of some channel if and only
   if it is lower triangular. *)
Theorem t5_realisable_iff_lower_triangular (M : 'M[R]_L) :
  (exists N (Abar Bbar C : 'I_L -> 'I_N -> R), alpha_mx Abar Bbar C = M)
  <-> lower_triangular M.
Proof.
split=> [[N [Abar [Bbar [C <-]]]]|M_low]; first exact: alpha_mx_lower.
by exists L, real_Abar, real_Bbar, (real_C M); exact: t5_realisation_full_state.
Qed.

End FullStateRealisation.

Arguments real_Abar {R L} k n.
Arguments real_Bbar {R L} j n.

Section StateLowerBound.

Variable F : fieldType.
Variable L : nat.

(* T5: the state size of any realisation is at least the rank of every
   semiseparable block M[j..L-1, 0..j]. *)
Theorem t5_state_lower_bound (M : 'M[F]_L) N (Abar Bbar C : 'I_L -> 'I_N -> F) :
  alpha_mx Abar Bbar C = M -> forall j : 'I_L, (\rank (ss_block M j) <= N)%N.
Proof. by move=> <- j; exact: t4_semiseparable_rank. Qed.

(* T5: ... i.e. at least the semiseparable rank of M. *)
Corollary t5_ss_rank_le_state (M : 'M[F]_L) N (Abar Bbar C : 'I_L -> 'I_N -> F) :
  alpha_mx Abar Bbar C = M -> (ss_rank M <= N)%N.
Proof. by move=> <-; exact: t4_ss_rank_le_state. Qed.

End StateLowerBound.
