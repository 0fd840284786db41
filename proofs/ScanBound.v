(* The forward error bound of the float scan (Rust: `ssm::scan`, checked by
   `theorems::bound::output_bound_exact`), for every FLT format (emin, prec) with
   round to nearest, hence for binary64 and binary32 with gradual underflow.

   The scan, in the Rust evaluation order (0-based steps t = 0 .. L-1, states
   n = 0 .. N-1):
     h[n] <- fl(fl(h[n] * Abar[t][n]) + fl(Bbar[t][n] * x[t]))
     y[t] <- dot(C[t], h) = fl(... fl(fl(0 + fl(C[t][0] h[0])) + fl(C[t][1] h[1])) ...)
   The bound, as `output_bound_exact` evaluates it:
     |fl(y_t) - y_t| <= gamma_m mag_t + (1 + gamma_m) eta0 W_t,   m = 3L + N + 4,
   mag_t = the exact scan of the entrywise-absolute channel on |x| (`magnitude`),
   W_t = (t + 3) sum_n hat(C_{t,n}) Phat_{t,n} Shat_{t,n} (`underflow_weight`,
   0-based t), hat v = max(1, |v|) (`hat`). *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core.
From HiddenAttention Require Import RealSum Gamma FloatModel.

Open Scope R_scope.

(** Rust: `theorems::bound::hat`. *)
Definition hat (v : R) : R := Rmax 1 (Rabs v).

Lemma hat_ge_1 v : 1 <= hat v.
Proof. apply Rmax_l. Qed.

Lemma hat_ge_abs v : Rabs v <= hat v.
Proof. apply Rmax_r. Qed.

Section Scan.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.

Local Notation u := (unit_roundoff prec).
Local Notation eta0 := (min_subnormal emin).
Local Notation fmul := (fmul emin prec choice).
Local Notation fadd := (fadd emin prec choice).
Local Notation is_float := (is_float emin prec).

(** The channel: Abar, Bbar, C indexed (step, state), the input x by step. *)
Variables (L N : nat) (abar bbar c : nat -> nat -> R) (x : nat -> R).

(** The exact state after steps 0 .. t-1 and the exact output y_t (0-based). *)
Fixpoint state (t n : nat) : R :=
  match t with
  | O => 0
  | S t' => state t' n * abar t' n + bbar t' n * x t'
  end.

Definition output (t : nat) : R := rsum N (fun n => c t n * state (S t) n).

(** Rust: `tensor::dot`: acc = 0; acc += a[k] * b[k] for k = 0 .. K-1. *)
Fixpoint dot (K : nat) (a b : nat -> R) : R :=
  match K with
  | O => 0
  | S k => fadd (dot k a b) (fmul (a k) (b k))
  end.

(** Rust: `ssm::scan`: h[n] *= Abar[t][n]; h[n] += Bbar[t][n] * x[t]. *)
Fixpoint scan_state (t n : nat) : R :=
  match t with
  | O => 0
  | S t' => fadd (fmul (scan_state t' n) (abar t' n)) (fmul (bbar t' n) (x t'))
  end.

(** Rust: `ssm::scan`: y[t] = dot(C[t], h). *)
Definition scan (t : nat) : R := dot N (c t) (fun n => scan_state (S t) n).

(** The entrywise-absolute channel's state and output (Rust: `magnitude`). *)
Fixpoint abs_state (t n : nat) : R :=
  match t with
  | O => 0
  | S t' => Rabs (abar t' n) * abs_state t' n + Rabs (bbar t' n) * Rabs (x t')
  end.

Definition magnitude (t : nat) : R := rsum N (fun n => Rabs (c t n) * abs_state (S t) n).

(** Rust: `underflow_weight` (p_hat, s_hat after step t are p_hat (S t), s_hat (S t)). *)
Fixpoint p_hat (t n : nat) : R :=
  match t with
  | O => 1
  | S t' => p_hat t' n * hat (abar t' n)
  end.

Fixpoint s_hat (t n : nat) : R :=
  match t with
  | O => 0
  | S t' => s_hat t' n + hat (bbar t' n) * hat (x t')
  end.

Definition underflow_weight (t : nat) : R :=
  rsum N (fun n => hat (c t n) * p_hat (S t) n * s_hat (S t) n) * INR (t + 3).

(** Rust: `output_bound_exact` with m = 3 L + N + 4. *)
Definition output_bound_exact (t : nat) : R :=
  let g := gamma_exact (3 * L + N + 4) u in
  g * magnitude t + (1 + g) * eta0 * underflow_weight t.

(** ** Auxiliary facts *)

Lemma abs_state_nonneg t n : 0 <= abs_state t n.
Proof.
  induction t; simpl; [lra|].
  apply Rplus_le_le_0_compat; apply Rmult_le_pos; auto using Rabs_pos.
Qed.

Lemma state_abs t n : Rabs (state t n) <= abs_state t n.
Proof.
  induction t; simpl; [rewrite Rabs_R0; lra|].
  eapply Rle_trans; [apply Rabs_triang|]. rewrite !Rabs_mult.
  apply Rplus_le_compat; [|lra].
  rewrite Rmult_comm. apply Rmult_le_compat_l; [apply Rabs_pos|exact IHt].
Qed.

Lemma is_float_scan_state t n : is_float (scan_state t n).
Proof. destruct t; simpl; [apply is_float_0|apply (is_float_fadd emin prec)]. Qed.

Lemma is_float_dot K a b : is_float (dot K a b).
Proof. destruct K; simpl; [apply is_float_0|apply (is_float_fadd emin prec)]. Qed.

Lemma fmul_comm a b : fmul a b = fmul b a.
Proof. unfold FloatModel.fmul. rewrite Rmult_comm. reflexivity. Qed.

Lemma one_le_pow_u k : 1 <= (1 + u) ^ k.
Proof. apply pow_R1_Rle. assert (H := unit_roundoff_nonneg prec). lra. Qed.

Lemma pow_u_mono j k : (j <= k)%nat -> (1 + u) ^ j <= (1 + u) ^ k.
Proof. intros H. apply Rle_pow; [assert (Hu := unit_roundoff_nonneg prec); lra|exact H]. Qed.

(** The absolute errors a state collects: D_0 = 0, D_{t+1} = |Abar_t| D_t + 2. *)
Fixpoint uflow (t n : nat) : R :=
  match t with
  | O => 0
  | S t' => Rabs (abar t' n) * uflow t' n + 2
  end.

Lemma uflow_nonneg t n : 0 <= uflow t n.
Proof. induction t; simpl; [lra|]. assert (H := Rabs_pos (abar t n)). nra. Qed.

(** ** The state: one step of the recurrence *)

Lemma scan_state_error t n :
  Rabs (scan_state t n - state t n)
  <= ((1 + u) ^ (2 * t) - 1) * abs_state t n + eta0 * (1 + u) ^ (2 * t) * uflow t n.
Proof.
  assert (Hu := unit_roundoff_nonneg prec).
  assert (He := min_subnormal_pos emin).
  induction t as [|t IH].
  - simpl. rewrite Rminus_0_r, Rabs_R0. lra.
  - simpl scan_state; simpl state; simpl abs_state; simpl uflow.
    set (hh := scan_state t n) in *. set (h := state t n) in *.
    set (H := abs_state t n) in *. set (D := uflow t n) in *.
    set (a := abar t n). set (b := bbar t n). set (xt := x t).
    set (rho := (1 + u) ^ (2 * t)) in *.
    replace ((1 + u) ^ (2 * S t)) with (rho * (1 + u) ^ 2)
      by (unfold rho; rewrite <- pow_add; f_equal; lia).
    assert (Hrho : 1 <= rho) by apply one_le_pow_u.
    assert (HH : 0 <= H) by apply abs_state_nonneg.
    assert (Hh : Rabs h <= H) by apply state_abs.
    assert (HD : 0 <= D) by apply uflow_nonneg.
    eapply Rle_trans.
    { apply (fadd_error emin prec choice); apply (is_float_fmul emin prec). }
    assert (E1 := fmul_error emin prec choice hh h a).
    assert (E2 := fmul_error emin prec choice b b xt).
    replace (b - b) with 0 in E2 by ring.
    rewrite Rabs_R0, Rmult_0_r, Rmult_0_l, Rplus_0_l in E2.
    assert (Hs : Rabs (h * a + b * xt) <= Rabs a * H + Rabs b * Rabs xt).
    { eapply Rle_trans; [apply Rabs_triang|]. rewrite !Rabs_mult.
      rewrite (Rmult_comm (Rabs h)). apply Rplus_le_compat_r.
      apply Rmult_le_compat_l; [apply Rabs_pos|exact Hh]. }
    assert (Ha := Rabs_pos a). assert (Hb := Rabs_pos b). assert (Hx := Rabs_pos xt).
    assert (Hah : Rabs a * (Rabs h * (1 + u)) <= Rabs a * (H * (1 + u)))
      by (apply Rmult_le_compat_l; [lra|apply Rmult_le_compat_r; lra]).
    assert (Hae : Rabs a * Rabs (hh - h) * (1 + u)
                  <= Rabs a * (((rho - 1) * H + eta0 * rho * D)) * (1 + u)).
    { apply Rmult_le_compat_r; [lra|]. apply Rmult_le_compat_l; [lra|exact IH]. }
    set (B := Rabs b * Rabs xt) in *.
    assert (HB : 0 <= B) by (apply Rmult_le_pos; lra).
    assert (Step : (1 + u) * (Rabs (fmul hh a - h * a) + Rabs (fmul b xt - b * xt))
                   + u * Rabs (h * a + b * xt)
                   <= (1 + u) * (Rabs a * (((rho - 1) * H + eta0 * rho * D)) * (1 + u)
                                 + u * (H * Rabs a) + eta0 + (u * B + eta0))
                      + u * (Rabs a * H + B)).
    { apply Rplus_le_compat.
      - apply Rmult_le_compat_l; [lra|].
        apply Rplus_le_compat.
        + eapply Rle_trans; [exact E1|].
          apply Rplus_le_compat_r. apply Rplus_le_compat; [exact Hae|].
          apply Rmult_le_compat_l; [lra|]. apply Rmult_le_compat_r; [lra|exact Hh].
        + exact E2.
      - apply Rmult_le_compat_l; [lra|exact Hs]. }
    eapply Rle_trans; [exact Step|].
    match goal with |- ?l <= ?r =>
      assert (Hd : r - l = B * (rho - 1) * (1 + u) ^ 2 + 2 * eta0 * (1 + u) * (rho * (1 + u) - 1))
        by ring
    end.
    assert (Q1 : 0 <= B * (rho - 1) * (1 + u) ^ 2)
      by (apply Rmult_le_pos; [apply Rmult_le_pos; lra|apply pow_le; lra]).
    assert (Q2 : 0 <= 2 * eta0 * (1 + u) * (rho * (1 + u) - 1))
      by (apply Rmult_le_pos; [apply Rmult_le_pos; lra|nra]).
    lra.
Qed.

(** ** The read-out: a rounded dot product of C_t with approximate states *)

Lemma dot_error K (cc hh h H D : nat -> R) rho :
  1 <= rho ->
  (forall n, is_float (hh n)) ->
  (forall n, Rabs (h n) <= H n) ->
  (forall n, 0 <= D n) ->
  (forall n, Rabs (hh n - h n) <= (rho - 1) * H n + eta0 * rho * D n) ->
  Rabs (dot K cc hh - rsum K (fun n => cc n * h n))
  <= ((1 + u) ^ (S K) * rho - 1) * rsum K (fun n => Rabs (cc n) * H n)
     + eta0 * ((1 + u) ^ (S K) * rho) * rsum K (fun n => Rabs (cc n) * D n + 1).
Proof.
  intros Hrho Hf Hh HD Herr.
  assert (Hu := unit_roundoff_nonneg prec).
  assert (He := min_subnormal_pos emin).
  induction K as [|K IH].
  - simpl. rewrite Rminus_0_r, Rabs_R0. lra.
  - simpl dot; simpl rsum.
    set (lam := (1 + u) ^ (S K) * rho) in *.
    replace ((1 + u) ^ (S (S K)) * rho) with (lam * (1 + u))
      by (unfold lam; simpl; ring).
    assert (Hlam : (1 + u) ^ 2 * rho <= lam * (1 + u)).
    { unfold lam. replace ((1 + u) ^ (S K) * rho * (1 + u)) with ((1 + u) ^ (S (S K)) * rho)
        by (simpl; ring).
      apply Rmult_le_compat_r; [lra|]. apply pow_u_mono. lia. }
    assert (Hlam1 : 1 + u <= (1 + u) ^ 2 * rho)
      by (assert (0 <= u * u) by nra; simpl; nra).
    set (M := rsum K (fun n => Rabs (cc n) * H n)) in *.
    set (E := rsum K (fun n => Rabs (cc n) * D n + 1)) in *.
    assert (HM : 0 <= M).
    { apply rsum_nonneg; intros k _. apply Rmult_le_pos; [apply Rabs_pos|].
      eapply Rle_trans; [apply Rabs_pos|apply Hh]. }
    assert (HE : 0 <= E).
    { apply rsum_nonneg; intros k _. assert (H0 := HD k). assert (H1 := Rabs_pos (cc k)). nra. }
    assert (Hl1 : 1 <= lam) by (unfold lam; assert (H0 := one_le_pow_u (S K)); nra).
    eapply Rle_trans.
    { apply (fadd_error emin prec choice); [apply is_float_dot|apply (is_float_fmul emin prec)]. }
    rewrite fmul_comm, (Rmult_comm (cc K) (h K)).
    assert (E1 := fmul_error emin prec choice (hh K) (h K) (cc K)).
    assert (Hs : Rabs (rsum K (fun n => cc n * h n) + h K * cc K) <= M + Rabs (cc K) * H K).
    { eapply Rle_trans; [apply Rabs_triang|]. apply Rplus_le_compat.
      - eapply Rle_trans; [apply rsum_abs|]. apply rsum_le; intros k _.
        rewrite Rabs_mult. apply Rmult_le_compat_l; [apply Rabs_pos|apply Hh].
      - rewrite Rabs_mult, Rmult_comm. apply Rmult_le_compat_l; [apply Rabs_pos|apply Hh]. }
    assert (HcK := Rabs_pos (cc K)). assert (HHK : 0 <= H K)
      by (eapply Rle_trans; [apply Rabs_pos|apply Hh]).
    assert (HDK := HD K).
    assert (Step :
      (1 + u) * (Rabs (dot K cc hh - rsum K (fun n => cc n * h n))
                 + Rabs (fmul (hh K) (cc K) - h K * cc K))
      + u * Rabs (rsum K (fun n => cc n * h n) + h K * cc K)
      <= (1 + u) * (((lam - 1) * M + eta0 * lam * E)
                    + (Rabs (cc K) * ((rho - 1) * H K + eta0 * rho * D K) * (1 + u)
                       + u * (H K * Rabs (cc K)) + eta0))
         + u * (M + Rabs (cc K) * H K)).
    { apply Rplus_le_compat; [apply Rmult_le_compat_l; [lra|]|
                              apply Rmult_le_compat_l; [lra|exact Hs]].
      apply Rplus_le_compat; [exact IH|].
      eapply Rle_trans; [exact E1|].
      apply Rplus_le_compat_r. apply Rplus_le_compat.
      - apply Rmult_le_compat_r; [lra|]. apply Rmult_le_compat_l; [lra|apply Herr].
      - apply Rmult_le_compat_l; [lra|]. apply Rmult_le_compat_r; [lra|apply Hh]. }
    eapply Rle_trans; [exact Step|].
    set (cH := Rabs (cc K) * H K) in *.
    set (cD := Rabs (cc K) * D K) in *.
    match goal with |- ?l <= ?r =>
      assert (Hd : r - l = (lam * (1 + u) - (1 + u) ^ 2 * rho) * cH
                           + eta0 * (lam * (1 + u) - (1 + u) ^ 2 * rho) * cD
                           + eta0 * (lam * (1 + u) - (1 + u)))
        by (unfold cH, cD; simpl; ring)
    end.
    assert (HcH : 0 <= cH) by (unfold cH; nra).
    assert (HcD : 0 <= cD) by (unfold cD; nra).
    assert (Q1 : 0 <= (lam * (1 + u) - (1 + u) ^ 2 * rho) * cH) by nra.
    assert (Q2 : 0 <= eta0 * (lam * (1 + u) - (1 + u) ^ 2 * rho) * cD).
    { apply Rmult_le_pos; [apply Rmult_le_pos|]; lra. }
    assert (Q3 : 0 <= eta0 * (lam * (1 + u) - (1 + u))) by (apply Rmult_le_pos; lra).
    lra.
Qed.

(** ** The underflow weight *)

Lemma p_hat_ge_1 t n : 1 <= p_hat t n.
Proof.
  induction t; simpl; [lra|]. assert (H := hat_ge_1 (abar t n)). nra.
Qed.

Lemma s_hat_nonneg t n : 0 <= s_hat t n.
Proof.
  induction t; simpl; [lra|].
  assert (H1 := hat_ge_1 (bbar t n)). assert (H2 := hat_ge_1 (x t)). nra.
Qed.

Lemma uflow_le t n : uflow t n <= 2 * p_hat t n * s_hat t n.
Proof.
  induction t as [|t IH]; simpl; [lra|].
  assert (Ha := hat_ge_abs (abar t n)). assert (Ha1 := hat_ge_1 (abar t n)).
  assert (Hb := hat_ge_1 (bbar t n)). assert (Hx := hat_ge_1 (x t)).
  assert (Hp := p_hat_ge_1 t n). assert (Hs := s_hat_nonneg t n).
  assert (HD := uflow_nonneg t n). assert (Haa := Rabs_pos (abar t n)).
  assert (H1 : Rabs (abar t n) * uflow t n <= hat (abar t n) * (2 * p_hat t n * s_hat t n)).
  { apply Rmult_le_compat; lra. }
  assert (H2 : 1 <= p_hat t n * hat (abar t n) * (hat (bbar t n) * hat (x t))).
  { assert (1 <= p_hat t n * hat (abar t n)) by nra.
    assert (1 <= hat (bbar t n) * hat (x t)) by nra. nra. }
  nra.
Qed.

(** ** The bound of `output_bound_exact` for the scan *)

Theorem scan_within_output_bound t :
  (t < L)%nat ->
  INR (3 * L + N + 4) * u < 1 ->
  Rabs (scan t - output t) <= output_bound_exact t.
Proof.
  intros Ht Hmu.
  assert (Hu := unit_roundoff_nonneg prec).
  assert (He := min_subnormal_pos emin).
  set (m := (3 * L + N + 4)%nat) in *.
  set (rho := (1 + u) ^ (2 * S t)).
  assert (Hrho : 1 <= rho) by apply one_le_pow_u.
  assert (Herr := dot_error N (c t) (fun n => scan_state (S t) n) (fun n => state (S t) n)
                    (fun n => abs_state (S t) n) (fun n => uflow (S t) n) rho Hrho
                    (fun n => is_float_scan_state (S t) n) (fun n => state_abs (S t) n)
                    (fun n => uflow_nonneg (S t) n) (fun n => scan_state_error (S t) n)).
  unfold scan, output, output_bound_exact. cbv zeta. change (3 * L + N + 4)%nat with m.
  eapply Rle_trans; [exact Herr|]. fold (magnitude t).
  set (lam := (1 + u) ^ (S N) * rho) in *.
  assert (Hlam : lam <= 1 + gamma_exact m u).
  { unfold lam, rho. rewrite <- pow_add.
    eapply Rle_trans; [apply pow_le_gamma; [exact Hu|]|].
    - eapply Rle_lt_trans; [|exact Hmu]. apply Rmult_le_compat_r; [exact Hu|].
      apply le_INR. unfold m; lia.
    - apply Rplus_le_compat_l. apply gamma_mono; [unfold m; lia|exact Hu|exact Hmu]. }
  assert (Hl1 : 1 <= lam) by (unfold lam; assert (H0 := one_le_pow_u (S N)); nra).
  assert (Hg := gamma_nonneg m u Hu Hmu).
  assert (Hmag : 0 <= magnitude t).
  { apply rsum_nonneg; intros k _. apply Rmult_le_pos; [apply Rabs_pos|apply abs_state_nonneg]. }
  set (Wsum := rsum N (fun n => hat (c t n) * p_hat (S t) n * s_hat (S t) n)).
  assert (HW : rsum N (fun n => Rabs (c t n) * uflow (S t) n + 1) <= Wsum * INR (t + 3)).
  { unfold Wsum. rewrite Rmult_comm, <- rsum_scal. apply rsum_le; intros k _.
    assert (Hc := hat_ge_abs (c t k)). assert (Hc1 := hat_ge_1 (c t k)).
    assert (Hca := Rabs_pos (c t k)).
    assert (Hp := p_hat_ge_1 (S t) k). assert (Hs0 := s_hat_nonneg t k).
    assert (Hs : 1 <= s_hat (S t) k).
    { simpl. assert (H1 := hat_ge_1 (bbar t k)). assert (H2 := hat_ge_1 (x t)). nra. }
    assert (HD := uflow_le (S t) k). assert (HD0 := uflow_nonneg (S t) k).
    assert (H3 : 3 <= INR (t + 3)).
    { rewrite plus_INR. assert (H0 := pos_INR t). simpl. lra. }
    assert (Hps : 1 <= p_hat (S t) k * s_hat (S t) k) by nra.
    assert (Hcu : Rabs (c t k) * uflow (S t) k <= hat (c t k) * (2 * p_hat (S t) k * s_hat (S t) k))
      by (apply Rmult_le_compat; lra).
    assert (Hc2 : 1 <= hat (c t k) * (p_hat (S t) k * s_hat (S t) k)) by nra.
    set (X := hat (c t k) * (p_hat (S t) k * s_hat (S t) k)) in *.
    assert (H4 : 0 <= (INR (t + 3) - 3) * X) by (apply Rmult_le_pos; lra).
    replace (hat (c t k) * p_hat (S t) k * s_hat (S t) k) with X by (unfold X; ring).
    replace (hat (c t k) * (2 * p_hat (S t) k * s_hat (S t) k)) with (2 * X) in Hcu
      by (unfold X; ring).
    lra. }
  assert (HW0 : 0 <= rsum N (fun n => Rabs (c t n) * uflow (S t) n + 1)).
  { apply rsum_nonneg; intros k _. assert (H0 := uflow_nonneg (S t) k).
    assert (H1 := Rabs_pos (c t k)). nra. }
  apply Rplus_le_compat.
  - apply Rmult_le_compat_r; [exact Hmag|lra].
  - apply Rle_trans with (eta0 * ((1 + gamma_exact m u) * (Wsum * INR (t + 3)))).
    + rewrite Rmult_assoc. apply Rmult_le_compat_l; [lra|].
      apply Rmult_le_compat; lra.
    + unfold underflow_weight. fold Wsum. right; ring.
Qed.

End Scan.

(** Binary64 (emin = -1074, prec = 53: u = 2^-53, eta0 = 2^-1074) and binary32
    (emin = -149, prec = 24: u = 2^-24, eta0 = 2^-149), each with any tie-breaking
    rule of round to nearest. *)
Theorem scan_within_output_bound_binary64 choice L N abar bbar c x t :
  (t < L)%nat -> INR (3 * L + N + 4) * unit_roundoff 53 < 1 ->
  Rabs (scan (-1074) 53 choice N abar bbar c x t - output N abar bbar c x t)
  <= output_bound_exact (-1074) 53 L N abar bbar c x t.
Proof. intros. apply (@scan_within_output_bound (-1074) 53 prec53); assumption. Qed.

Theorem scan_within_output_bound_binary32 choice L N abar bbar c x t :
  (t < L)%nat -> INR (3 * L + N + 4) * unit_roundoff 24 < 1 ->
  Rabs (scan (-149) 24 choice N abar bbar c x t - output N abar bbar c x t)
  <= output_bound_exact (-149) 24 L N abar bbar c x t.
Proof. intros. apply (@scan_within_output_bound (-149) 24 prec24); assumption. Qed.
