(* T1 - hidden attention (unrolling).
   Over any commutative ring, the output of the recurrent scan of one channel
   equals the hidden attention matrix applied to the input:
     y_t = sum_{j <= t} alpha_{tj} x_j,   i.e.  y = alpha x. *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Unrolling.

Variable R : comRingType.
Variables L N : nat.
Variables (Abar Bbar C : 'I_L -> 'I_N -> R) (x : 'I_L -> R).

(* The state after m steps, unrolled. *)
Lemma state_unrolled m n : (m <= L)%N ->
  state Abar Bbar x m n =
  \sum_(j < L | (j < m)%N)
     (\prod_(k < L | (j < k < m)%N) Abar k n) * Bbar j n * x j.
Proof.
elim: m => [|m IH] le_mL /=.
  by rewrite big1 // => j; rewrite ltn0.
have lt_mL : (m < L)%N by [].
rewrite !(at_stepS _ lt_mL) (IH (ltnW lt_mL)).
set i := Ordinal lt_mL.
rewrite [RHS](bigD1 i) ?ltnSn //= [RHS]addrC.
rewrite [X in _ = _ + X * _ * _]big_pred0 => [|k]; last first.
  by rewrite ltnS ltnNge andNb.
rewrite mul1r big_distrr /=; congr (_ + _).
rewrite [RHS](eq_bigl (fun j : 'I_L => (j < m)%N)) => [|j]; last first.
  by rewrite ltnS andbC ltn_neqAle.
apply: eq_bigr => j lt_jm.
rewrite [X in _ = X * _ * _](bigD1 i) /= ?lt_jm ?ltnSn // !mulrA.
congr (_ * _ * _ * _).
apply: eq_bigl => k; rewrite ltnS.
by case: (ltnP j k) => //= _; rewrite andbC ltn_neqAle.
Qed.

(* The hidden state after step t: h_t[n] = sum_{j <= t} (prod_{k=j+1}^{t} Abar_k[n]) Bbar_j[n] x_j. *)
Lemma hidden_unrolled (t : 'I_L) n :
  hidden Abar Bbar x t n =
  \sum_(j < L | (j <= t)%N) gate_prod Abar j t n * Bbar j n * x j.
Proof.
by rewrite /hidden state_unrolled.
Qed.

(* T1: the recurrence equals sum_{j <= t} alpha_{tj} x_j. *)
Theorem t1_scan_eq_hidden_attention (t : 'I_L) :
  output Abar Bbar C x t = \sum_(j < L | (j <= t)%N) alpha Abar Bbar C t j * x j.
Proof.
rewrite /output.
under eq_bigr => n _ do rewrite hidden_unrolled big_distrr.
rewrite exchange_big /=; apply: eq_bigr => j le_jt.
rewrite alpha_lower // big_distrl /=; apply: eq_bigr => n _.
by rewrite !mulrA.
Qed.

(* T1, full-row form: alpha is zero above the diagonal. *)
Theorem t1_scan_eq_hidden_attention_full (t : 'I_L) :
  output Abar Bbar C x t = \sum_(j < L) alpha Abar Bbar C t j * x j.
Proof.
rewrite t1_scan_eq_hidden_attention [RHS](bigID (fun j : 'I_L => (j <= t)%N)) /=.
rewrite [X in _ = _ + X]big1 ?addr0 // => j; rewrite -ltnNge => lt_tj.
by rewrite alpha_upper ?mul0r.
Qed.

(* T1, matrix form: y = alpha *m x (column vectors). *)
Theorem t1_scan_eq_hidden_attention_mx :
  \col_t output Abar Bbar C x t = alpha_mx Abar Bbar C *m \col_j x j.
Proof.
apply/matrixP => t k; rewrite !mxE t1_scan_eq_hidden_attention_full.
by apply: eq_bigr => j _; rewrite !mxE.
Qed.

End Unrolling.
