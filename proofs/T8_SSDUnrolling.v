(* T8 - SSD unrolling.
   Over any commutative ring the output of the recurrent scan of an SSD head
   (scalar transition a_t, state size N, head dimension P) is
     y_t[p] = sum_{s <= t} alpha_{ts} x_s[p] + D[p] x_t[p],
     alpha_{ts} = (C_t . B_s) prod_{r=s+1}^{t} a_r  (s <= t),  0 above,
   i.e. Y = alpha X + X diag(D) for the L x P input X.  With the step size
   kept apart (input matrix Delta_s B_s):
     alpha_{ts} = (C_t . B_s) (prod_{r=s+1}^{t} a_r) Delta_s.
   Proved through T12 (the head is a channel with equal diagonal entries)
   and T1. *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel T1_Unrolling SSD T12_SSDHeadIsChannel.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Unrolling.

Variable R : comRingType.
Variables L N P : nat.
Variables (a : 'I_L -> R) (B C : 'I_L -> 'I_N -> R) (D : 'I_P -> R).
Variable x : 'I_L -> 'I_P -> R.

(* T8: y_t[p] = sum_{s <= t} alpha_{ts} x_s[p] + D[p] x_t[p]. *)
Theorem t8_ssd_unrolling (t : 'I_L) (p : 'I_P) :
  ssd_output a B C D x t p =
  \sum_(s < L | (s <= t)%N) ssd_alpha a B C t s * x s p + D p * x t p.
Proof.
rewrite t12_ssd_head_is_channel t1_scan_eq_hidden_attention; congr (_ + _).
by apply: eq_bigr => s _; rewrite t12_ssd_alpha_is_channel_alpha.
Qed.

(* T8, full-row form: alpha is zero above the diagonal. *)
Theorem t8_ssd_unrolling_full (t : 'I_L) (p : 'I_P) :
  ssd_output a B C D x t p =
  \sum_(s < L) ssd_alpha a B C t s * x s p + D p * x t p.
Proof.
rewrite t8_ssd_unrolling; congr (_ + _).
rewrite [RHS](bigID (fun s : 'I_L => (s <= t)%N)) /=.
rewrite [X in _ = _ + X]big1 ?addr0 // => s; rewrite -ltnNge => lt_ts.
by rewrite ssd_alpha_upper ?mul0r.
Qed.

(* T8, matrix form: Y = alpha X + X diag(D). *)
Theorem t8_ssd_unrolling_mx :
  \matrix_(t, p) ssd_output a B C D x t p =
  ssd_alpha_mx a B C *m \matrix_(s, p) x s p
  + (\matrix_(s, p) x s p) *m diag_mx (\row_p D p).
Proof.
apply/matrixP => t p; rewrite mul_mx_diag !mxE t8_ssd_unrolling_full.
rewrite [D p * _]mulrC; congr (_ + _); apply: eq_bigr => s _; by rewrite !mxE.
Qed.

End Unrolling.

Section StepSize.

Variable R : comRingType.
Variables L N P : nat.
Variables (a dt : 'I_L -> R) (B C : 'I_L -> 'I_N -> R) (D : 'I_P -> R).
Variable x : 'I_L -> 'I_P -> R.

(* T8 with the step size kept apart: the head with input matrix
   Delta_s B_s has alpha_{ts} = (C_t . B_s) (prod_{r=s+1}^{t} a_r) Delta_s. *)
Theorem t8_ssd_unrolling_dt (t : 'I_L) (p : 'I_P) :
  ssd_output a (fun s n => dt s * B s n) C D x t p =
  \sum_(s < L | (s <= t)%N)
     ((\sum_(n < N) C t n * B s n) * ssd_decay a s t * dt s) * x s p
  + D p * x t p.
Proof.
rewrite t8_ssd_unrolling; congr (_ + _); apply: eq_bigr => s le_st.
rewrite ssd_alpha_lower //; congr (_ * _); rewrite [RHS]mulrAC; congr (_ * _).
by rewrite mulr_suml; apply: eq_bigr => n _; rewrite mulrA mulrAC.
Qed.

End StepSize.
