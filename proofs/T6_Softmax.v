(* T6 - softmax separation.
   A causal softmax head's matrix has entries
     S_{ij} = w_{ij} / sum_{k <= i} w_{ik}   (j <= i),   S_{ij} = 0  (j > i),
   with w_{ij} = exp(s_{ij}) > 0.  Over an ordered field we state it for
   arbitrary positive weights w (the exp-free form): over the reals the
   positive numbers are exactly the values of exp, so this is the same class.
   Proved here:
   - a causal softmax matrix is row-stochastic with positive entries on and
     below the diagonal and zeros above it, and conversely every such matrix
     is a causal softmax matrix;
   - soundness of the certificates: a matrix with a negative entry, or with a
     row whose sum is not 1, is not the matrix of any causal softmax head;
   - an S6 channel's hidden attention matrix need not be a softmax matrix;
   - conversely the semiseparable rank of causal softmax matrices grows with
     L: for every N there is one with L = 2N+1 whose block [N..2N, 0..N] has
     rank N+1, so no channel with state size N reproduces it (by T5).  The
     block is the certificate. *)

From mathcomp Require Import all_ssreflect ssralg ssrnum matrix mxalgebra order.
From HiddenAttention Require Import Channel T4_Semiseparable T5_Realisation.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory Num.Theory Order.POrderTheory.
Local Open Scope ring_scope.

Section Softmax.

Variable R : numFieldType.
Variable L : nat.

(* Causal softmax of the weights w (w_{ij} standing for exp(s_{ij})). *)
Definition causal_softmax (w : 'M[R]_L) : 'M[R]_L :=
  \matrix_(i, j) if (j <= i)%N then w i j / \sum_(k < L | (k <= i)%N) w i k
                 else 0.

Definition positive_lower (w : 'M[R]_L) : Prop :=
  forall i j : 'I_L, (j <= i)%N -> 0 < w i j.

(* The matrices of causal softmax heads. *)
Definition softmax_mx (M : 'M[R]_L) : Prop :=
  exists w : 'M[R]_L, positive_lower w /\ causal_softmax w = M.

(* Causal row-stochastic with positive entries on and below the diagonal. *)
Definition causal_stochastic (M : 'M[R]_L) : Prop :=
  [/\ positive_lower M,
      forall i j : 'I_L, (i < j)%N -> M i j = 0 &
      forall i : 'I_L, \sum_(j < L) M i j = 1].

Lemma causal_sum_gt0 (w : 'M[R]_L) (i : 'I_L) :
  positive_lower w -> 0 < \sum_(k < L | (k <= i)%N) w i k.
Proof.
move=> w_pos; rewrite (bigD1 i) //=.
apply: ltr_paddr; last exact: w_pos.
by apply: sumr_ge0 => k /andP[le_ki _]; apply: ltW; exact: w_pos.
Qed.

Lemma row_sum_lower (M : 'M[R]_L) (i : 'I_L) :
  (forall j : 'I_L, (i < j)%N -> M i j = 0) ->
  \sum_(j < L) M i j = \sum_(j < L | (j <= i)%N) M i j.
Proof.
move=> M_up; rewrite (bigID (fun j : 'I_L => (j <= i)%N)) /=.
by rewrite [X in _ + X]big1 ?addr0 // => j; rewrite -ltnNge; exact: M_up.
Qed.

(* T6(a): a causal softmax matrix is causal row-stochastic with positive
   entries on and below the diagonal. *)
Theorem t6_softmax_is_causal_stochastic (w : 'M[R]_L) :
  positive_lower w -> causal_stochastic (causal_softmax w).
Proof.
move=> w_pos; split=> [i j le_ji|i j lt_ij|i].
- by rewrite mxE le_ji divr_gt0 ?causal_sum_gt0 ?w_pos.
- by rewrite mxE leqNgt lt_ij.
rewrite row_sum_lower => [|j lt_ij]; last by rewrite mxE leqNgt lt_ij.
under eq_bigr => j le_ji do rewrite mxE le_ji.
by rewrite -mulr_suml mulfV // gt_eqF ?causal_sum_gt0.
Qed.

(* T6(a): conversely every causal row-stochastic matrix with positive
   entries on and below the diagonal is a causal softmax matrix (w = M). *)
Theorem t6_softmax_iff_causal_stochastic (M : 'M[R]_L) :
  softmax_mx M <-> causal_stochastic M.
Proof.
split=> [[w [w_pos <-]]|[M_pos M_up M_sum]].
  exact: t6_softmax_is_causal_stochastic.
exists M; split=> //; apply/matrixP => i j; rewrite mxE.
case: (leqP j i) => [le_ji|lt_ij]; last by rewrite M_up.
by rewrite -row_sum_lower ?M_sum ?divr1 // => k; exact: M_up.
Qed.

(* T6(a), certificate: a negative entry rules out every softmax head. *)
Theorem t6_negative_entry_not_softmax (M : 'M[R]_L) (i j : 'I_L) :
  M i j < 0 -> ~ softmax_mx M.
Proof.
move=> neg /t6_softmax_iff_causal_stochastic [M_pos M_up _].
case: (leqP j i) => [le_ji|lt_ij].
  by move: neg; rewrite lt_gtF ?M_pos.
by move: neg; rewrite M_up ?ltxx.
Qed.

(* T6(a), certificate: a row sum different from 1 rules out every softmax head. *)
Theorem t6_row_sum_not_softmax (M : 'M[R]_L) (i : 'I_L) :
  \sum_(j < L) M i j != 1 -> ~ softmax_mx M.
Proof.
by move=> ne1 /t6_softmax_iff_causal_stochastic [_ _ M_sum]; rewrite M_sum eqxx in ne1.
Qed.

End Softmax.

(* T6(a): an S6 channel's hidden attention matrix need not be a softmax
   matrix: the channel L = N = 1, Abar = 1, Bbar = 1, C = -1 has alpha = [-1]. *)
Theorem t6_channel_not_softmax (R : numFieldType) :
  ~ softmax_mx (alpha_mx (fun _ _ : 'I_1 => 1 : R) (fun _ _ => 1) (fun _ _ => -1)).
Proof.
apply: (t6_negative_entry_not_softmax (i := ord0) (j := ord0)).
rewrite mxE alpha_lower // big_ord_recl big_ord0 addr0 /gate_prod big1_eq !mulr1.
by rewrite oppr_lt0 ltr01.
Qed.

Section SoftmaxRank.

Variable R : numFieldType.

Lemma sum_delta_nat n (c : nat) (f : 'I_n -> R) (lt_cn : (c < n)%N) :
  \sum_(b < n) (b == c :> nat)%:R * f b = f (Ordinal lt_cn).
Proof.
rewrite (bigD1 (Ordinal lt_cn)) //= eqxx mul1r big1 ?addr0 // => b ne_bc.
by move: ne_bc; rewrite -val_eqE /= => /negbTE ->; rewrite mul0r.
Qed.

Lemma sum_delta_nat1 n (c : nat) : (c < n)%N ->
  \sum_(b < n) (b == c :> nat)%:R = 1 :> R.
Proof.
move=> lt_cn; rewrite -[RHS](sum_delta_nat (fun _ => 1) lt_cn).
by apply: eq_bigr => b _; rewrite mulr1.
Qed.

Variable N : nat.

Lemma spike_j_proof : (N < N.+1 + N)%N.
Proof. by rewrite addSn ltnS leq_addl. Qed.

Definition spike_j : 'I_(N.+1 + N) := Ordinal spike_j_proof.

(* Weights w_{ik} = 1 + [i = k + N]: all ones plus one spike in each row
   i >= N (standing for the scores s_{ik} = log w_{ik}). *)
Definition spike_w : 'M[R]_(N.+1 + N) :=
  \matrix_(i, k) (1 + (i == (k + N)%N :> nat)%:R).

Lemma spike_w_pos : positive_lower spike_w.
Proof. by move=> i k _; rewrite mxE ltr_spaddl ?ltr01 ?ler0n. Qed.

Lemma spike_block_rank :
  (N.+1 <= \rank (ss_block (causal_softmax spike_w) spike_j))%N.
Proof.
set B := ss_block _ _.
pose S (a : 'I_(N.+1 + N - spike_j)) : R :=
  let i := block_row (j := spike_j) a in
  \sum_(k < N.+1 + N | (k <= i)%N) spike_w i k.
have S_gt0 a : 0 < S a by apply: causal_sum_gt0; exact: spike_w_pos.
pose r : R := (N.+2%:R)^-1.
pose X : 'M[R]_(spike_j.+1, N.+1 + N - spike_j) :=
  \matrix_(b, c) ((((b : nat) == c)%:R - r) * S c).
have BX : B *m X = 1%:M.
  apply/matrixP => a c; rewrite !mxE.
  have lt_aN (a' : 'I_(N.+1 + N - spike_j)) : (a' < N.+1)%N.
    by apply: (leq_trans (ltn_ord a')); rewrite /= addnK.
  have B_ab b : B a b = (1 + (b == a :> nat)%:R) / S a.
    rewrite !mxE /= ifT; last first.
      by rewrite (leq_trans _ (leq_addr a N)) // -ltnS; exact: ltn_ord b.
    by rewrite [(b + N)%N]addnC eqn_add2l eq_sym.
  under eq_bigr => b _ do rewrite B_ab mxE mulrACA mulrC.
  rewrite -big_distrr /=.
  under eq_bigr => b _ do rewrite mulrDl mul1r.
  rewrite big_split /= sum_delta_nat sumrB sum_delta_nat1 // sumr_const card_ord.
  have arith (d : R) : 1 - r *+ N.+1 + (d - r) = d.
    rewrite addrC -addrA [- r + _]addrCA -opprD -mulrS -mulr_natr /r.
    by rewrite mulVf ?pnatr_eq0 // subrr addr0.
  rewrite arith /= (_ : ((a : nat) == c) = (a == c)) //.
  case: eqP => [<-|_]; last by rewrite mulr0.
  by rewrite mulr1 mulVf // gt_eqF.
apply: leq_trans (mxrankM_maxl B X); rewrite BX mxrank1 /=.
by rewrite addnK.
Qed.

(* T6(b): the semiseparable rank of causal softmax heads is unbounded: for
   every N there is a causal softmax matrix (L = 2N+1) whose block at j = N
   has rank N+1 > N. *)
Theorem t6_softmax_ss_rank_unbounded :
  exists2 w : 'M[R]_(N.+1 + N),
    positive_lower w & (N < ss_rank (causal_softmax w))%N.
Proof.
exists spike_w; first exact: spike_w_pos.
exact: leq_trans spike_block_rank (leq_bigmax spike_j).
Qed.

(* T6(b): hence no channel with state size N reproduces every causal softmax
   head: there is one (L = 2N+1) that differs from every such channel's
   hidden attention matrix. *)
Theorem t6_softmax_not_channel :
  exists2 w : 'M[R]_(N.+1 + N), positive_lower w &
    forall Abar Bbar C : 'I_(N.+1 + N) -> 'I_N -> R,
      alpha_mx Abar Bbar C != causal_softmax w.
Proof.
have [w w_pos lt_N] := t6_softmax_ss_rank_unbounded.
exists w => // Abar Bbar C; apply/eqP => eq_alpha.
by move: (t5_ss_rank_le_state eq_alpha); rewrite leqNgt lt_N.
Qed.

End SoftmaxRank.
