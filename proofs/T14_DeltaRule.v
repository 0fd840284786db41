(* T14 (c) - unrolling of layers with matrix transitions (delta rule).
   A layer with a time-varying d_k x d_k transition M_t, input vectors
   b_t in R^{d_k}, queries q_t in R^{d_k} and values v_t in R^{d_v} keeps a
   d_k x d_v state
     S_t = M_t S_{t-1} + b_t v_t^T,   S_{-1} = 0,   o_t = S_t^T q_t.
   Over any commutative ring, with Phi(s, t) = M_t M_{t-1} ... M_{s+1}
   (matrix product, later times on the left; Phi(t, t) = I),
     o_t = sum_{s <= t} A_{ts} v_s,   A_{ts} = q_t^T Phi(s, t) b_s  (s <= t),
   A_{ts} = 0 above the diagonal.  No assumption on M_t: the statement is
   proved once and instantiated for
   - the delta rule (Gated DeltaNet): M_t = g_t (I - beta_t k_t k_t^T),
     b_t = beta_t k_t, so A_{ts} = beta_s q_t^T Phi(s, t) k_s;
   - DeltaNet: the same with g_t = 1;
   - DPLR / RWKV-7: M_t = diag(w_t) + a_t c_t^T, b_t = k_t;
   - diagonal transitions M_t = diag(g_t): Phi(s, t) is the diagonal of the
     products prod_{r=s+1}^{t} g_r, and A is the matrix of T14(a).
   The layer is itself a time-varying (non-diagonal) state-space
   realisation of state size d_k. *)

From mathcomp Require Import all_ssreflect ssralg zmodp matrix.
From HiddenAttention Require Import Ranges T14_DiagonalFamily.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Times.

Variable L : nat.

(* A time-indexed vector or matrix read at a natural-number step (0 past
   the end). *)
Definition at_time (T : zmodType) (f : 'I_L -> T) (m : nat) : T :=
  if insub m is Some i then f i else 0.

Lemma at_timeE (T : zmodType) (f : 'I_L -> T) (i : 'I_L) : at_time f i = f i.
Proof. by rewrite /at_time valK. Qed.

Lemma at_timeS (T : zmodType) (f : 'I_L -> T) m (lt_mL : (m < L)%N) :
  at_time f m = f (Ordinal lt_mL).
Proof. by rewrite /at_time insubT. Qed.

End Times.

Section MatrixTransition.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (M : 'I_L -> 'M[R]_dk) (b q : 'I_L -> 'cV[R]_dk).
Variable v : 'I_L -> 'cV[R]_dv.

(* [mx_state m]: the state after the first m steps. *)
Fixpoint mx_state (m : nat) : 'M[R]_(dk, dv) :=
  match m with
  | 0 => 0
  | m'.+1 => at_time M m' *m mx_state m' + at_time b m' *m (at_time v m')^T
  end.

(* o_t = S_t^T q_t. *)
Definition mx_out (t : 'I_L) : 'cV[R]_dv := (mx_state t.+1)^T *m q t.

(* [trans_prod s m] = M_{m-1} ... M_{s+1} (I when m <= s + 1), so
   Phi(s, t) = trans_prod s t.+1. *)
Fixpoint trans_prod (s m : nat) : 'M[R]_dk :=
  match m with
  | 0 => 1%:M
  | m'.+1 => if (s < m')%N then at_time M m' *m trans_prod s m' else 1%:M
  end.

Lemma trans_prod_diag s : trans_prod s s.+1 = 1%:M.
Proof. by rewrite /= ltnn. Qed.

Lemma trans_prod_step s (t : 'I_L) : (s < t)%N ->
  trans_prod s t.+1 = M t *m trans_prod s t.
Proof. by move=> lt_st; rewrite /= lt_st at_timeE. Qed.

(* The implicit attention matrix: A_{ts} = q_t^T Phi(s, t) b_s. *)
Definition mx_A (t s : 'I_L) : R :=
  if (s <= t)%N then ((q t)^T *m trans_prod s t.+1 *m b s) 0 0 else 0.

(* The state after m steps, unrolled. *)
Lemma mx_state_unrolled m : (m <= L)%N ->
  mx_state m = \sum_(s < L | (s < m)%N) trans_prod s m *m (b s *m (v s)^T).
Proof.
elim: m => [|m IH] le_mL; first by rewrite big_pred0.
have lt_mL : (m < L)%N by [].
set i := Ordinal lt_mL.
rewrite [RHS](bigD1 i) ?ltnSn //= ltnn mul1mx.
rewrite !(at_timeS _ lt_mL) (IH (ltnW lt_mL)) addrC mulmx_sumr; congr (_ + _).
rewrite (eq_bigl (fun s : 'I_L => (s < m)%N)) => [|s]; last first.
  by rewrite -val_eqE /= ltnS andbC -ltn_neqAle.
by apply: eq_bigr => s lt_sm; rewrite lt_sm mulmxA.
Qed.

Lemma trmx_sum m n (P : pred 'I_L) (F : 'I_L -> 'M[R]_(m, n)) :
  (\sum_(s < L | P s) F s)^T = \sum_(s < L | P s) (F s)^T.
Proof.
apply/matrixP => i j; rewrite !(mxE, summxE).
by apply: eq_bigr => s _; rewrite mxE.
Qed.

(* T14(c), general matrix transitions: o_t = sum_{s <= t} A_{ts} v_s. *)
Theorem t14_matrix_transition_unrolling (t : 'I_L) :
  mx_out t = \sum_(s < L | (s <= t)%N) mx_A t s *: v s.
Proof.
rewrite /mx_out mx_state_unrolled ?ltn_ord // trmx_sum mulmx_suml.
apply: eq_big => [s|s lt_st1]; first by rewrite ltnS.
rewrite /mx_A -ltnS lt_st1 mulmxA trmx_mul trmxK -mulmxA.
rewrite [X in v s *m X]mx11_scalar mul_mx_scalar; congr (_ *: _).
rewrite -mulmxA !mxE; apply: eq_bigr => i _.
by rewrite !mxE mulrC.
Qed.

(* ... per value coordinate: o_t[c] = sum_{s <= t} A_{ts} v_s[c]. *)
Corollary t14_matrix_transition_unrolling_coord (t : 'I_L) (c : 'I_dv) :
  mx_out t c 0 = \sum_(s < L | (s <= t)%N) mx_A t s * v s c 0.
Proof.
rewrite t14_matrix_transition_unrolling summxE.
by apply: eq_bigr => s _; rewrite mxE.
Qed.

End MatrixTransition.

Section DeltaRule.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (g beta : 'I_L -> R) (k q : 'I_L -> 'cV[R]_dk).
Variable v : 'I_L -> 'cV[R]_dv.

(* The gated delta rule: M_t = g_t (I - beta_t k_t k_t^T), b_t = beta_t k_t. *)
Definition delta_M (t : 'I_L) : 'M[R]_dk :=
  g t *: (1%:M - beta t *: (k t *m (k t)^T)).

(* T14(c), delta rule: A_{ts} = beta_s q_t^T (M_t ... M_{s+1}) k_s. *)
Theorem t14_delta_rule_unrolling (t : 'I_L) :
  mx_out delta_M (fun s => beta s *: k s) q v t =
  \sum_(s < L | (s <= t)%N)
     (beta s * ((q t)^T *m trans_prod delta_M s t.+1 *m k s) 0 0) *: v s.
Proof.
rewrite t14_matrix_transition_unrolling; apply: eq_bigr => s le_st.
by rewrite /mx_A le_st -scalemxAr mxE.
Qed.

(* T14(c), DeltaNet (g = 1): M_t = I - beta_t k_t k_t^T. *)
Corollary t14_deltanet_unrolling (t : 'I_L) :
  mx_out (fun r => 1%:M - beta r *: (k r *m (k r)^T)) (fun s => beta s *: k s)
    q v t =
  \sum_(s < L | (s <= t)%N)
     (beta s * ((q t)^T
                *m trans_prod (fun r => 1%:M - beta r *: (k r *m (k r)^T)) s t.+1
                *m k s) 0 0) *: v s.
Proof.
rewrite t14_matrix_transition_unrolling; apply: eq_bigr => s le_st.
by rewrite /mx_A le_st -scalemxAr mxE.
Qed.

End DeltaRule.

Section DPLR.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (w : 'I_L -> 'rV[R]_dk) (a c k q : 'I_L -> 'cV[R]_dk).
Variable v : 'I_L -> 'cV[R]_dv.

(* DPLR / RWKV-7: M_t = diag(w_t) + a_t c_t^T, b_t = k_t. *)
Definition dplr_M (t : 'I_L) : 'M[R]_dk := diag_mx (w t) + a t *m (c t)^T.

(* T14(c), DPLR: A_{ts} = q_t^T (M_t ... M_{s+1}) k_s. *)
Theorem t14_dplr_unrolling (t : 'I_L) :
  mx_out dplr_M k q v t =
  \sum_(s < L | (s <= t)%N)
     ((q t)^T *m trans_prod dplr_M s t.+1 *m k s) 0 0 *: v s.
Proof.
rewrite t14_matrix_transition_unrolling; apply: eq_bigr => s le_st.
by rewrite /mx_A le_st.
Qed.

End DPLR.

Section DiagonalTransitions.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (g q k : 'I_L -> 'I_dk -> R).

Let Mg (t : 'I_L) : 'M[R]_dk := diag_mx (\row_i g t i).

(* With diagonal transitions the product is the diagonal of the products. *)
Lemma trans_prod_diag_mx s m : (m <= L)%N ->
  trans_prod Mg s m = diag_mx (\row_i \prod_(r < L | (s < r < m)%N) g r i).
Proof.
elim: m => [|m IH] le_mL.
  apply/matrixP => i j; rewrite !mxE big_pred0 => [|r]; last by rewrite andbF.
  by case: (i == j); rewrite ?mulr1n ?mulr0n.
have lt_mL : (m < L)%N by [].
rewrite [trans_prod _ _ _]/=; case: ifP => [lt_sm|ge_sm].
  rewrite (at_timeS _ lt_mL) (IH (ltnW lt_mL)) /Mg mul_diag_mx.
  apply/matrixP => i j; rewrite !mxE (prod_range_last _ lt_mL lt_sm).
  by rewrite mulrnAr.
apply/matrixP => i j; rewrite !mxE big_pred0 => [|r].
  by case: (i == j); rewrite ?mulr1n ?mulr0n.
rewrite ltnS; apply/negP => /andP [lt_sr le_rm].
by move: ge_sm; rewrite (leq_trans lt_sr le_rm).
Qed.

(* Cross-check with T14(a): for M_t = diag(g_t), b = k, the matrix A of
   T14(c) is the matrix A of the diagonal family. *)
Theorem t14_matrix_transition_diagonal (t s : 'I_L) :
  mx_A Mg (fun r => \col_i k r i) (fun r => \col_i q r i) t s =
  diag_A g q k t s.
Proof.
rewrite /mx_A /diag_A; case: ifP => // le_st.
rewrite trans_prod_diag_mx ?ltn_ord // -mulmxA mul_diag_mx !mxE.
by apply: eq_bigr => i _; rewrite !mxE mulrA.
Qed.

End DiagonalTransitions.
