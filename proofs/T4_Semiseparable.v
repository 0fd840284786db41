(* T4 - semiseparable bound.
   The hidden attention matrix alpha of a channel with state size N is
   N-semiseparable: for every j, the submatrix alpha[j..L-1, 0..j] (rows
   i >= j, columns j' <= j, 0-based) has rank at most N.
   It factors as an (L-j) x N matrix (row i: C_i .* prod_{k=j+1}^{i} Abar_k)
   times an N x (j+1) matrix (column j': (prod_{k=j'+1}^{j} Abar_k) .* Bbar_j').
   No invertibility is needed. *)

From mathcomp Require Import all_ssreflect ssralg matrix mxalgebra.
From HiddenAttention Require Import Channel.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Blocks.

Variable F : fieldType.
Variable L : nat.

Lemma block_row_proof (j : 'I_L) (a : 'I_(L - j)) : (j + a < L)%N.
Proof. by rewrite -ltn_subRL. Qed.

(* Row a of the block is row j + a of the matrix; column b is column b. *)
Definition block_row (j : 'I_L) (a : 'I_(L - j)) : 'I_L :=
  Ordinal (block_row_proof a).

Definition block_col (j : 'I_L) (b : 'I_j.+1) : 'I_L :=
  widen_ord (ltn_ord j) b.

(* The semiseparable block M[j..L-1, 0..j]. *)
Definition ss_block (M : 'M[F]_L) (j : 'I_L) : 'M[F]_(L - j, j.+1) :=
  \matrix_(a, b) M (block_row a) (block_col b).

(* The semiseparable rank: the largest rank of these blocks. *)
Definition ss_rank (M : 'M[F]_L) : nat := \max_(j < L) \rank (ss_block M j).

Lemma ss_rank_leqP (M : 'M[F]_L) r :
  reflect (forall j, \rank (ss_block M j) <= r)%N (ss_rank M <= r)%N.
Proof.
apply: (iffP idP) => [le_Mr j | H]; first exact: leq_trans (leq_bigmax j) le_Mr.
by apply/bigmax_leqP => j _; exact: H.
Qed.

End Blocks.

Section Semiseparable.

Variable F : fieldType.
Variables L N : nat.
Variables (Abar Bbar C : 'I_L -> 'I_N -> F).

(* T4, general form: any matrix of entries alpha_{r(a), c(b)} with all rows
   r(a) >= j and all columns c(b) <= j has rank at most N. *)
Theorem t4_semiseparable_rank_general m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall a, (j <= r a)%N) -> (forall b, (c b <= j)%N) ->
  (\rank (\matrix_(a, b) alpha Abar Bbar C (r a) (c b)) <= N)%N.
Proof.
move=> le_jr le_cj.
pose Q : 'M[F]_(m, N) := \matrix_(a, n) (C (r a) n * gate_prod Abar j (r a) n).
pose K : 'M[F]_(N, p) := \matrix_(n, b) (gate_prod Abar (c b) j n * Bbar (c b) n).
have -> : \matrix_(a, b) alpha Abar Bbar C (r a) (c b) = Q *m K.
  apply/matrixP => a b; rewrite !mxE alpha_lower ?(leq_trans (le_cj b)) //.
  apply: eq_bigr => n _; rewrite !mxE (gate_prod_split _ _ (le_cj b) (le_jr a)).
  by rewrite [gate_prod _ _ _ _ * _]mulrC !mulrA.
exact: leq_trans (mxrankM_maxl _ _) (rank_leq_col _).
Qed.

(* T4: every block alpha[j..L-1, 0..j] has rank at most N. *)
Theorem t4_semiseparable_rank (j : 'I_L) :
  (\rank (ss_block (alpha_mx Abar Bbar C) j) <= N)%N.
Proof.
have -> : ss_block (alpha_mx Abar Bbar C) j =
          \matrix_(a, b) alpha Abar Bbar C (block_row a) (block_col b).
  by apply/matrixP => a b; rewrite !mxE.
by apply: (@t4_semiseparable_rank_general _ _ j) => [a|b]; rewrite /= ?leq_addr // -ltnS.
Qed.

(* T4, as a bound on the semiseparable rank. *)
Corollary t4_ss_rank_le_state : (ss_rank (alpha_mx Abar Bbar C) <= N)%N.
Proof. by apply/ss_rank_leqP => j; exact: t4_semiseparable_rank. Qed.

End Semiseparable.
