(* T17 - the row-sum obstruction for HGRN and RG-LRU.
   The elementwise members of T14(a) (h_t = g_t .* h_{t-1} + b_t .* x_t,
   o_t = h_t) have, on coordinate c, the implicit attention
     A_{ts} = (prod_{r=s+1}^{t} g_r[c]) b_s[c]   (s <= t),   0 above,
   (T14: o_t[c] = sum_{s <= t} A_{ts} x_s[c]).  Over an ordered field
   (numFieldType, as T6):
   - HGRN (b = 1) with positive gates: row t >= 1 sums to
       1 + sum_{s < t} prod_{r=s+1}^{t} g_r[c] > 1,
     so A is not row-stochastic and (T6a) not a causal softmax matrix once
     L >= 2;
   - RG-LRU with b_0[c] = i_0 < 1 (m_0 = 1): row 0 sums to b_0[c] < 1, so A
     is not a causal softmax matrix;
   and since the layer determines A (unit inputs read off its columns), no
   causal softmax head produces the layer's coordinate c on every input. *)

From mathcomp Require Import all_ssreflect ssralg ssrnum matrix order.
From HiddenAttention Require Import Channel T6_Softmax T14_DiagonalFamily.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory Num.Theory Order.POrderTheory.
Local Open Scope ring_scope.

Section RowSum.

Variable R : numFieldType.
Variables L d : nat.
Variables (g b : 'I_L -> 'I_d -> R) (c : 'I_d).

(* The implicit attention of coordinate c. *)
Definition elem_A_mx : 'M[R]_L :=
  \matrix_(t, s) if (s <= t)%N then
                   (\prod_(r < L | (s < r <= t)%N) g r c) * b s c
                 else 0.

Lemma elem_A_upper (t s : 'I_L) : (t < s)%N -> elem_A_mx t s = 0.
Proof. by move=> lt_ts; rewrite mxE leqNgt lt_ts. Qed.

(* The layer is A on coordinate c (T14). *)
Lemma elem_A_unrolling x (t : 'I_L) :
  elem_out g b x t c = \sum_(s < L) elem_A_mx t s * x s c.
Proof.
rewrite t14_elementwise_unrolling [RHS](bigID (fun s : 'I_L => (s <= t)%N)) /=.
rewrite [X in _ = _ + X]big1 ?addr0 => [|s]; last first.
  by rewrite -ltnNge => lt_ts; rewrite elem_A_upper ?mul0r.
by apply: eq_bigr => s le_st; rewrite mxE le_st.
Qed.

(* The layer determines its matrix: a matrix S with o_t[c] = sum_s S_{ts}
   x_s[c] on every input is A. *)
Lemma elem_matrix_unique (S : 'M[R]_L) :
  (forall x (t : 'I_L), elem_out g b x t c = \sum_(s < L) S t s * x s c) ->
  S = elem_A_mx.
Proof.
move=> eq_S; apply/matrixP => t s.
pose x (r : 'I_L) (_ : 'I_d) : R := (r == s)%:R.
have E (M : 'M[R]_L) : \sum_(r < L) M t r * x r c = M t s.
  rewrite (bigD1 s) //= big1 => [|r ne_rs]; last by rewrite /x (negbTE ne_rs) mulr0.
  by rewrite /x eqxx mulr1 addr0.
by rewrite -E -eq_S elem_A_unrolling E.
Qed.

(* HGRN: b = 1. *)
Section HGRN.

Hypothesis b1 : forall s, b s c = 1.
Hypothesis g_pos : forall r, 0 < g r c.

(* T17, HGRN: row t sums to 1 + sum_{s < t} prod_{r=s+1}^{t} g_r[c]. *)
Theorem t17_hgrn_row_sum (t : 'I_L) :
  \sum_(s < L) elem_A_mx t s =
  1 + \sum_(s < L | (s < t)%N) \prod_(r < L | (s < r <= t)%N) g r c.
Proof.
rewrite row_sum_lower => [|s]; last exact: elem_A_upper.
rewrite (bigD1 t) //= mxE leqnn b1 mulr1 /= big_pred0 => [|r]; last first.
  by rewrite ltnNge andNb.
congr (_ + _); rewrite (eq_bigl (fun s : 'I_L => (s < t)%N)) => [|s]; last first.
  by rewrite ltn_neqAle andbC.
by apply: eq_bigr => s lt_st; rewrite mxE (ltnW lt_st) b1 mulr1.
Qed.

(* T17, HGRN: with positive gates every row t >= 1 sums to more than 1. *)
Theorem t17_hgrn_row_sum_gt1 (t : 'I_L) : (0 < t)%N ->
  1 < \sum_(s < L) elem_A_mx t s.
Proof.
move=> lt0t; rewrite t17_hgrn_row_sum ltr_addl.
have lt_pL : (t.-1 < L)%N by rewrite (leq_ltn_trans (leq_pred t)).
rewrite (bigD1 (Ordinal lt_pL)) /=; last by rewrite prednK.
apply: ltr_paddr; last by apply: prodr_gt0 => r _.
by apply: sumr_ge0 => s _; apply: ltW; apply: prodr_gt0 => r _.
Qed.

(* T17, HGRN: for L >= 2 the matrix is no causal softmax matrix (T6a). *)
Theorem t17_hgrn_not_softmax : (1 < L)%N -> ~ softmax_mx elem_A_mx.
Proof.
move=> lt1L; apply: (@t6_row_sum_not_softmax _ _ _ (Ordinal lt1L)).
by rewrite gt_eqF // t17_hgrn_row_sum_gt1.
Qed.

(* T17, HGRN: no causal softmax head computes the layer's coordinate c. *)
Theorem t17_hgrn_not_softmax_head (w : 'M[R]_L) : (1 < L)%N ->
  positive_lower w ->
  ~ (forall x (t : 'I_L),
       elem_out g b x t c = \sum_(s < L) causal_softmax w t s * x s c).
Proof.
move=> lt1L w_pos /elem_matrix_unique eq_A.
by apply: (t17_hgrn_not_softmax lt1L); exists w.
Qed.

End HGRN.

(* RG-LRU: b_0[c] = m_0 i_0 = i_0 < 1. *)
Section RGLRU.

Variable lt0L : (0 < L)%N.
Let t0 : 'I_L := Ordinal lt0L.

(* T17, RG-LRU: row 0 sums to b_0[c]. *)
Theorem t17_rglru_row0_sum : \sum_(s < L) elem_A_mx t0 s = b t0 c.
Proof.
rewrite (bigD1 t0) //= big1 => [|s ne_s0]; last first.
  by rewrite elem_A_upper // lt0n; apply: contra ne_s0 => s0; rewrite -val_eqE.
rewrite addr0 mxE leqnn big_pred0 ?mul1r // => r.
by rewrite ltnNge andNb.
Qed.

Hypothesis b0_lt1 : b t0 c < 1.

(* T17, RG-LRU: the matrix is no causal softmax matrix (T6a). *)
Theorem t17_rglru_not_softmax : ~ softmax_mx elem_A_mx.
Proof.
apply: (@t6_row_sum_not_softmax _ _ _ t0).
by rewrite t17_rglru_row0_sum lt_eqF.
Qed.

(* T17, RG-LRU: no causal softmax head computes the layer's coordinate c. *)
Theorem t17_rglru_not_softmax_head (w : 'M[R]_L) :
  positive_lower w ->
  ~ (forall x (t : 'I_L),
       elem_out g b x t c = \sum_(s < L) causal_softmax w t s * x s c).
Proof.
move=> w_pos /elem_matrix_unique eq_A.
by apply: t17_rglru_not_softmax; exists w.
Qed.

End RGLRU.

End RowSum.
