(* The standard model of floating-point arithmetic with underflow, derived from
   Flocq's FLT format (gradual underflow, unbounded exponent range above).

   A float type is a pair (emin, prec): its numbers are m * 2^e with |m| < 2^prec
   and e >= emin.  Binary64 is (-1074, 53), binary32 is (-149, 24)
   ([binary64_fexp], [binary32_fexp] check this against Flocq's IEEE 754 formats).
   Every operation rounds to nearest with an arbitrary tie-breaking rule [choice].

   The model used by the crate's float bounds (src/theorems/bound.rs):
     fl(a * b) = a b (1 + d) + e,   |d| <= u,  |e| <= eta0   ([fmul_model])
     fl(a + b) = (a + b)(1 + d),    |d| <= u                   ([fadd_model])
   with u = 2^-prec the unit roundoff ([unit_roundoff]) and eta0 = 2^emin the
   smallest positive subnormal ([min_subnormal]); sums of floats carry no
   absolute term (a subnormal sum is exact). *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core Relative Plus_error.
From Coq Require Floats.SpecFloat.

Open Scope R_scope.

Section Model.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.

Definition fexp := FLT_exp emin prec.

(** Rounding to nearest in the format (ties broken by [choice]). *)
Definition rnd (x : R) : R := round radix2 fexp (Znearest choice) x.

(** The unit roundoff u = 2^-prec (Rust: `Field::unit_roundoff`). *)
Definition unit_roundoff : R := u_ro radix2 prec.

(** The smallest positive subnormal 2^emin (Rust: `Field::min_subnormal`). *)
Definition min_subnormal : R := bpow radix2 emin.

Definition fmul (a b : R) : R := rnd (a * b).
Definition fadd (a b : R) : R := rnd (a + b).
Definition is_float (x : R) : Prop := generic_format radix2 fexp x.

Lemma unit_roundoff_nonneg : 0 <= unit_roundoff.
Proof. apply u_ro_pos. Qed.

Lemma unit_roundoff_lt_1 : unit_roundoff < 1.
Proof. apply u_ro_lt_1; exact prec_gt_0_. Qed.

Lemma min_subnormal_pos : 0 < min_subnormal.
Proof. apply bpow_gt_0. Qed.

Lemma is_float_0 : is_float 0.
Proof. apply generic_format_0. Qed.

Lemma is_float_rnd x : is_float (rnd x).
Proof.
  apply generic_format_round; [apply FLT_exp_valid; exact prec_gt_0_ | apply valid_rnd_N].
Qed.

Lemma is_float_fmul a b : is_float (fmul a b).
Proof. apply is_float_rnd. Qed.

Lemma is_float_fadd a b : is_float (fadd a b).
Proof. apply is_float_rnd. Qed.

(** A rounded product: relative error at most u plus an absolute error at most
    eta0 (Flocq's [error_N_FLT]; the absolute part is even at most eta0/2). *)
Theorem fmul_model a b :
  exists d e, Rabs d <= unit_roundoff /\ Rabs e <= min_subnormal /\
              fmul a b = a * b * (1 + d) + e.
Proof.
  destruct (error_N_FLT radix2 emin prec prec_gt_0_ choice (a * b))
    as (d & e & Hd & He & _ & Hr).
  exists d, e; split; [|split].
  - unfold unit_roundoff, u_ro; replace (- prec + 1)%Z with (- prec + 1)%Z by lia; exact Hd.
  - unfold min_subnormal; assert (H := bpow_ge_0 radix2 emin); lra.
  - exact Hr.
Qed.

(** A rounded sum of two floats: relative error at most u, no absolute term
    (Flocq's [FLT_plus_error_N_ex]: a sum in the subnormal range is exact). *)
Theorem fadd_model a b :
  is_float a -> is_float b ->
  exists d, Rabs d <= unit_roundoff /\ fadd a b = (a + b) * (1 + d).
Proof.
  intros Ha Hb.
  destruct (FLT_plus_error_N_ex radix2 emin prec choice a b Ha Hb) as (d & Hd & Hr).
  exists d; split; [|exact Hr].
  eapply Rle_trans; [exact Hd|].
  apply u_rod1pu_ro_le_u_ro.
Qed.

(** Error propagation through one rounded product: if p approximates P, then
    fl(p q) approximates P q. *)
Lemma fmul_error p P q :
  Rabs (fmul p q - P * q)
  <= Rabs q * Rabs (p - P) * (1 + unit_roundoff) + unit_roundoff * (Rabs P * Rabs q)
     + min_subnormal.
Proof.
  destruct (fmul_model p q) as (d & e & Hd & He & ->).
  replace (p * q * (1 + d) + e - P * q)
    with (q * (p - P) * (1 + d) + P * q * d + e) by ring.
  assert (Hu := unit_roundoff_nonneg).
  assert (H1 : Rabs (1 + d) <= 1 + unit_roundoff).
  { eapply Rle_trans; [apply Rabs_triang|]. rewrite Rabs_R1. lra. }
  eapply Rle_trans; [apply Rabs_triang|].
  apply Rplus_le_compat; [|exact He].
  eapply Rle_trans; [apply Rabs_triang|].
  rewrite !Rabs_mult.
  apply Rplus_le_compat.
  - apply Rmult_le_compat_l; [apply Rmult_le_pos; apply Rabs_pos | exact H1].
  - rewrite (Rmult_comm unit_roundoff).
    apply Rmult_le_compat_l; [apply Rmult_le_pos; apply Rabs_pos | exact Hd].
Qed.

(** Error propagation through one rounded sum of floats. *)
Lemma fadd_error p q P Q :
  is_float p -> is_float q ->
  Rabs (fadd p q - (P + Q))
  <= (1 + unit_roundoff) * (Rabs (p - P) + Rabs (q - Q)) + unit_roundoff * Rabs (P + Q).
Proof.
  intros Hp Hq.
  destruct (fadd_model p q Hp Hq) as (d & Hd & ->).
  replace ((p + q) * (1 + d) - (P + Q))
    with ((p - P + (q - Q)) * (1 + d) + (P + Q) * d) by ring.
  assert (Hu := unit_roundoff_nonneg).
  assert (H1 : Rabs (1 + d) <= 1 + unit_roundoff).
  { eapply Rle_trans; [apply Rabs_triang|]. rewrite Rabs_R1. lra. }
  eapply Rle_trans; [apply Rabs_triang|].
  rewrite !Rabs_mult.
  apply Rplus_le_compat.
  - rewrite Rmult_comm. apply Rmult_le_compat; try apply Rabs_pos; [exact H1|].
    apply Rabs_triang.
  - rewrite Rmult_comm. apply Rmult_le_compat_r; [apply Rabs_pos | exact Hd].
Qed.

End Model.

(** The two IEEE 754 formats of the crate, as FLT formats: Flocq's binary64
    (prec 53, emax 1024) and binary32 (prec 24, emax 128) round with
    FLT_exp (-1074) 53 and FLT_exp (-149) 24. *)
Lemma binary64_fexp : SpecFloat.fexp 53 1024 = fexp (-1074) 53.
Proof. reflexivity. Qed.

Lemma binary32_fexp : SpecFloat.fexp 24 128 = fexp (-149) 24.
Proof. reflexivity. Qed.

(** Their constants: u = 2^-53 and eta0 = 2^-1074 (f64), u = 2^-24 and
    eta0 = 2^-149 (f32), as `f64::EPSILON / 2`, `f32::EPSILON / 2` and the
    smallest subnormals in the Rust code. *)
Lemma binary64_constants :
  unit_roundoff 53 = bpow radix2 (-53) /\ min_subnormal (-1074) = bpow radix2 (-1074).
Proof.
  split; [|reflexivity]. unfold unit_roundoff, u_ro.
  change (-53)%Z with (-1 + (-53 + 1))%Z. rewrite bpow_plus.
  simpl (bpow radix2 (-1)). unfold Z.pow_pos; simpl. lra.
Qed.

Lemma binary32_constants :
  unit_roundoff 24 = bpow radix2 (-24) /\ min_subnormal (-149) = bpow radix2 (-149).
Proof.
  split; [|reflexivity]. unfold unit_roundoff, u_ro.
  change (-24)%Z with (-1 + (-24 + 1))%Z. rewrite bpow_plus.
  simpl (bpow radix2 (-1)). unfold Z.pow_pos; simpl. lra.
Qed.

Global Instance prec53 : Prec_gt_0 53. Proof. unfold Prec_gt_0; lia. Qed.
Global Instance prec24 : Prec_gt_0 24. Proof. unfold Prec_gt_0; lia. Qed.
