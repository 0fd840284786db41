(* The forward error bound of the float factored head (T2b: Rust `ssm::factored` and
   `Factored::output`), within the same `output_bound_exact` as the scan, for every FLT
   format, when P, Q and K are computed in the normal range (the Rust code refuses the
   case otherwise, `Error::FactorRange`).

   The Rust evaluation order:
     P_0 = 1, P_t = fl(P_{t-1} Abar_t) (t >= 1);  Q_t = fl(C_t P_t);  K_t = fl(Bbar_t / P_t);
     S <- fl(S + fl(K_t x_t));  y_t = dot(Q_t, S).
   A rounding whose exact argument is normal (or 0) has relative error only
   ([rnd_normal], Flocq's [relative_error_N_FLT_ex]); Q_i K_j = C_i Bbar_j (P_i / P_j)
   (1+d)(1+d') carries the i - j step roundings of P_i / P_j and two more
   ([factored_term_error]); the sums S are the scan of the channel (1, K, x)
   ([factored_state_is_scan]). *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core Relative.
From HiddenAttention Require Import RealSum Gamma FloatModel ScanBound AlphaBound GatedBound
  EntryBound.

Open Scope R_scope.

Section Factored.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.

Local Notation u := (unit_roundoff prec).
Local Notation eta0 := (min_subnormal emin).
Local Notation rnd := (rnd emin prec choice).
Local Notation fmul := (fmul emin prec choice).
Local Notation fadd := (fadd emin prec choice).
Local Notation is_float := (is_float emin prec).
Local Notation dot := (dot emin prec choice).
Local Notation lambda := (min_normal emin prec).

(** A rounding whose exact argument is normal or zero: no absolute error. *)
Lemma rnd_normal x : lambda <= Rabs x \/ x = 0 -> exists d, Rabs d <= u /\ rnd x = x * (1 + d).
Proof.
  intros [H|H].
  - destruct (relative_error_N_FLT_ex radix2 emin prec prec_gt_0_ choice x H) as (d & Hd & Hr).
    exists d. split; [exact Hd|exact Hr].
  - exists 0. rewrite H, Rabs_R0. split; [apply unit_roundoff_nonneg|].
    unfold FloatModel.rnd. rewrite round_0; [ring|apply valid_rnd_N].
Qed.

Variables (L N : nat) (abar bbar c : nat -> nat -> R) (x : nat -> R).

Local Notation output := (output N abar bbar c x).
Local Notation magnitude := (magnitude N abar bbar c x).
Local Notation p_hat := (p_hat abar).
Local Notation s_hat := (s_hat bbar x).
Local Notation alpha := (alpha N abar bbar c).

(** Rust: `ssm::factored`: P, Q, K. *)
Fixpoint factored_p (t n : nat) : R :=
  match t with
  | O => 1
  | S t' => rnd (factored_p t' n * abar (S t') n)
  end.

Definition factored_q (t n : nat) : R := rnd (c t n * factored_p t n).
Definition factored_k (t n : nat) : R := rnd (bbar t n / factored_p t n).

(** Rust: `Factored::output`: s[n] += K[t][n] * x[t]; y[t] = dot(Q[t], s). *)
Fixpoint factored_state (t n : nat) : R :=
  match t with
  | O => 0
  | S t' => fadd (factored_state t' n) (fmul (factored_k t' n) (x t'))
  end.

Definition factored_output (i : nat) : R := dot N (factored_q i) (fun n => factored_state (S i) n).

(** The range conditions: every rounded P, Q, K has a normal (or, for Q and K, zero)
    exact argument. *)
Definition factors_normal : Prop :=
  forall t n, (t < L)%nat -> (n < N)%nat ->
    ((0 < t)%nat -> lambda <= Rabs (factored_p (Nat.pred t) n * abar t n)) /\
    (lambda <= Rabs (c t n * factored_p t n) \/ c t n * factored_p t n = 0) /\
    (lambda <= Rabs (bbar t n / factored_p t n) \/ bbar t n / factored_p t n = 0).

Hypothesis Hnormal : factors_normal.

Lemma lambda_pos : 0 < lambda.
Proof. apply bpow_gt_0. Qed.

Lemma u_lt_1 : u < 1.
Proof. apply (unit_roundoff_lt_1 prec). Qed.

Lemma factored_p_step t n : (S t < L)%nat -> (n < N)%nat ->
  exists d, Rabs d <= u /\ factored_p (S t) n = factored_p t n * abar (S t) n * (1 + d).
Proof.
  intros Ht Hn. destruct (Hnormal (S t) n Ht Hn) as [HP _].
  apply rnd_normal. left. apply HP. lia.
Qed.

Lemma factored_p_nonzero t n : (t < L)%nat -> (n < N)%nat -> factored_p t n <> 0.
Proof.
  intros Ht Hn. destruct t as [|t]; [simpl; lra|].
  destruct (factored_p_step t n Ht Hn) as (d & Hd & Hr). rewrite Hr.
  destruct (Hnormal (S t) n Ht Hn) as [HP _]. assert (H := HP ltac:(lia)). simpl in H.
  assert (Hl := lambda_pos). assert (Hu := u_lt_1).
  assert (Hd1 : 0 < 1 + d) by (apply Rabs_le_inv in Hd; lra).
  apply Rmult_integral_contrapositive_currified; [|lra].
  intros E. rewrite E, Rabs_R0 in H. lra.
Qed.

(** P_t / P_j against prod_{k=j+1}^{t} Abar_k. *)
Lemma factored_p_ratio j t n : (j <= t)%nat -> (t < L)%nat -> (n < N)%nat ->
  Rabs (factored_p t n / factored_p j n - gprod (fun k => abar k n) t j)
  <= ((1 + u) ^ (t - j) - 1) * gprod (fun k => Rabs (abar k n)) t j.
Proof.
  intros Hjt Ht Hn. induction t as [|t IH].
  - replace j with 0%nat by lia. simpl. unfold Rdiv. rewrite Rinv_1. simpl.
    rewrite Rmult_1_l, Rminus_diag_eq, Rabs_R0 by reflexivity. lra.
  - destruct (Nat.eq_dec j (S t)) as [->|Hne].
    + rewrite Nat.sub_diag, !gprod_le by lia. rewrite pow_O.
      unfold Rdiv. rewrite Rinv_r by (apply factored_p_nonzero; lia).
      rewrite Rminus_diag_eq, Rabs_R0 by reflexivity. lra.
    + assert (IH' := IH ltac:(lia) ltac:(lia)).
      destruct (factored_p_step t n Ht Hn) as (d & Hd & Hr).
      rewrite Hr, !gprod_S by lia.
      replace (S t - j)%nat with (S (t - j)) by lia.
      set (R0 := factored_p t n / factored_p j n) in *.
      set (G := gprod (fun k => abar k n) t j) in *.
      set (Ga := gprod (fun k => Rabs (abar k n)) t j) in *.
      set (a := abar (S t) n).
      assert (HG : Rabs G <= Ga) by (unfold G, Ga; rewrite gprod_abs; lra).
      replace (factored_p t n * a * (1 + d) / factored_p j n - G * a)
        with (a * ((R0 - G) * (1 + d) + G * d))
        by (unfold R0; field; apply factored_p_nonzero; lia).
      assert (Hu := unit_roundoff_nonneg prec).
      assert (Hd1 : Rabs (1 + d) <= 1 + u)
        by (eapply Rle_trans; [apply Rabs_triang|]; rewrite Rabs_R1; lra).
      rewrite Rabs_mult.
      assert (Hin : Rabs ((R0 - G) * (1 + d) + G * d)
                    <= ((1 + u) ^ (t - j) - 1) * Ga * (1 + u) + Ga * u).
      { eapply Rle_trans; [apply Rabs_triang|]. rewrite !Rabs_mult.
        apply Rplus_le_compat.
        - apply Rmult_le_compat; try apply Rabs_pos; assumption.
        - apply Rmult_le_compat; try apply Rabs_pos; assumption. }
      assert (Ha := Rabs_pos a).
      eapply Rle_trans; [apply Rmult_le_compat_l; [exact Ha|exact Hin]|].
      right. simpl pow. ring.
Qed.

Lemma factored_q_k j i n : (j <= i)%nat -> (i < L)%nat -> (n < N)%nat ->
  exists d d', Rabs d <= u /\ Rabs d' <= u /\
    factored_q i n * factored_k j n
    = c i n * bbar j n * (factored_p i n / factored_p j n) * (1 + d) * (1 + d').
Proof.
  intros Hji Hi Hn.
  destruct (Hnormal i n Hi Hn) as (_ & HQ & _).
  destruct (Hnormal j n ltac:(lia) Hn) as (_ & _ & HK).
  destruct (rnd_normal _ HQ) as (d & Hd & Eq). destruct (rnd_normal _ HK) as (d' & Hd' & Ek).
  exists d, d'. split; [exact Hd|split; [exact Hd'|]].
  unfold factored_q, factored_k. rewrite Eq, Ek. field. apply factored_p_nonzero; lia.
Qed.

(** One term Q_i K_j against C_i (prod Abar) Bbar_j. *)
Lemma factored_term_error j i n : (j <= i)%nat -> (i < L)%nat -> (n < N)%nat ->
  Rabs (factored_q i n * factored_k j n - c i n * gprod (fun k => abar k n) i j * bbar j n)
  <= ((1 + u) ^ (i - j + 2) - 1)
     * (Rabs (c i n) * gprod (fun k => Rabs (abar k n)) i j * Rabs (bbar j n)).
Proof.
  intros Hji Hi Hn.
  destruct (factored_q_k j i n Hji Hi Hn) as (d & d' & Hd & Hd' & ->).
  assert (HR := factored_p_ratio j i n Hji Hi Hn).
  set (R0 := factored_p i n / factored_p j n) in *.
  set (G := gprod (fun k => abar k n) i j) in *.
  set (Ga := gprod (fun k => Rabs (abar k n)) i j) in *.
  assert (HG : Rabs G <= Ga) by (unfold G, Ga; rewrite gprod_abs; lra).
  assert (Hu := unit_roundoff_nonneg prec).
  set (rho := (1 + u) ^ (i - j)) in *.
  assert (Hrho : 1 <= rho) by apply one_le_pow_u.
  replace ((1 + u) ^ (i - j + 2)) with (rho * (1 + u) ^ 2) by (unfold rho; rewrite pow_add; ring).
  replace (c i n * bbar j n * R0 * (1 + d) * (1 + d') - c i n * G * bbar j n)
    with (c i n * bbar j n * ((R0 - G) * ((1 + d) * (1 + d')) + G * (d + d' + d * d')))
    by ring.
  assert (H1 : Rabs ((1 + d) * (1 + d')) <= (1 + u) ^ 2).
  { rewrite Rabs_mult. simpl. rewrite Rmult_1_r.
    assert (Rabs (1 + d) <= 1 + u) by (eapply Rle_trans; [apply Rabs_triang|]; rewrite Rabs_R1; lra).
    assert (Rabs (1 + d') <= 1 + u) by (eapply Rle_trans; [apply Rabs_triang|]; rewrite Rabs_R1; lra).
    apply Rmult_le_compat; try apply Rabs_pos; assumption. }
  assert (H2 : Rabs (d + d' + d * d') <= (1 + u) ^ 2 - 1).
  { eapply Rle_trans; [apply Rabs_triang|]. eapply Rle_trans; [apply Rplus_le_compat_l; rewrite Rabs_mult; apply Rmult_le_compat; try apply Rabs_pos; [exact Hd|exact Hd']|].
    eapply Rle_trans; [apply Rplus_le_compat_r; apply Rabs_triang|]. simpl. nra. }
  rewrite Rabs_mult, Rabs_mult.
  rewrite (Rmult_comm (Rabs (c i n)) Ga) at 1.
  assert (Hin : Rabs ((R0 - G) * ((1 + d) * (1 + d')) + G * (d + d' + d * d'))
                <= (rho * (1 + u) ^ 2 - 1) * Ga).
  { eapply Rle_trans; [apply Rabs_triang|]. rewrite (Rabs_mult (R0 - G)), (Rabs_mult G).
    assert (HGa : 0 <= Ga) by (eapply Rle_trans; [apply Rabs_pos|exact HG]).
    assert (E1 : Rabs (R0 - G) * Rabs ((1 + d) * (1 + d')) <= ((rho - 1) * Ga) * (1 + u) ^ 2)
      by (apply Rmult_le_compat; try apply Rabs_pos; assumption).
    assert (E2 : Rabs G * Rabs (d + d' + d * d') <= Ga * ((1 + u) ^ 2 - 1))
      by (apply Rmult_le_compat; try apply Rabs_pos; assumption).
    lra. }
  assert (Hcb := Rmult_le_pos _ _ (Rabs_pos (c i n)) (Rabs_pos (bbar j n))).
  eapply Rle_trans; [apply Rmult_le_compat_l; [exact Hcb|exact Hin]|].
  right. ring.
Qed.

(** ** The sums S: the scan of the channel (1, K, x) *)

Lemma factored_state_is_scan t n :
  factored_state t n = scan_state emin prec choice (fun _ _ => 1) factored_k x t n.
Proof.
  induction t as [|t IH]; [reflexivity|]. simpl. rewrite IH. f_equal.
  unfold FloatModel.fmul, FloatModel.rnd. rewrite Rmult_1_r.
  symmetry. apply round_generic; [apply valid_rnd_N|].
  apply (is_float_scan_state emin prec).
Qed.

Lemma uflow_one t n : uflow (fun _ _ => 1) t n = 2 * INR t.
Proof.
  induction t as [|t IH]; [simpl; ring|]. simpl uflow. rewrite IH, Rabs_R1, S_INR. ring.
Qed.

Lemma gprod_one i j : gprod (fun _ => 1) i j = 1.
Proof.
  induction i; [reflexivity|].
  change (gprod (fun _ => 1) (S i) j) with (if Nat.leb (S i) j then 1 else gprod (fun _ => 1) i j * 1).
  destruct (Nat.leb (S i) j); [reflexivity|]. rewrite IHi. ring.
Qed.

Lemma state_one i n :
  state (fun _ _ => 1) factored_k x (S i) n = rsum (S i) (fun j => factored_k j n * x j).
Proof.
  rewrite (unroll (fun t => state (fun _ _ => 1) factored_k x t n) (fun _ => 1)
             (fun j => factored_k j n * x j)) by reflexivity.
  apply rsum_ext; intros j _. rewrite gprod_one. ring.
Qed.

Lemma abs_state_one i n :
  abs_state (fun _ _ => 1) factored_k x (S i) n
  = rsum (S i) (fun j => Rabs (factored_k j n) * Rabs (x j)).
Proof.
  rewrite (unroll (fun t => abs_state (fun _ _ => 1) factored_k x t n) (fun _ => 1)
             (fun j => Rabs (factored_k j n) * Rabs (x j)))
    by (reflexivity || (intros; simpl; rewrite Rabs_R1; ring)).
  apply rsum_ext; intros j _. rewrite gprod_one. ring.
Qed.

Lemma gprod_mono (f g : nat -> R) i j :
  (forall k, 0 <= f k <= g k) -> gprod f i j <= gprod g i j.
Proof.
  intros H. induction i; [simpl; lra|].
  change (gprod f (S i) j) with (if Nat.leb (S i) j then 1 else gprod f i j * f (S i)).
  change (gprod g (S i) j) with (if Nat.leb (S i) j then 1 else gprod g i j * g (S i)).
  destruct (Nat.leb (S i) j); [lra|].
  apply Rmult_le_compat; [apply gprod_nonneg; intros; apply H|apply H|exact IHi|apply H].
Qed.

Lemma s_hat_ge t n : INR t <= s_hat t n.
Proof.
  induction t as [|t IH]; [simpl; lra|]. rewrite S_INR. simpl s_hat.
  assert (H1 := hat_ge_1 (bbar t n)). assert (H2 := hat_ge_1 (x t)). nra.
Qed.

(** |Q_i| <= (1 + u)^(i+1) hat(C_i) Phat_i. *)
Lemma factored_q_le i n : (i < L)%nat -> (n < N)%nat ->
  Rabs (factored_q i n) <= (1 + u) ^ (S i) * (hat (c i n) * p_hat (S i) n).
Proof.
  intros Hi Hn.
  destruct (Hnormal i n Hi Hn) as (_ & HQ & _).
  destruct (rnd_normal _ HQ) as (d & Hd & Eq). unfold factored_q. rewrite Eq.
  assert (Hu := unit_roundoff_nonneg prec).
  assert (HR := factored_p_ratio 0 i n ltac:(lia) Hi Hn).
  simpl factored_p in HR at 2. unfold Rdiv in HR. rewrite Rinv_1, Rmult_1_r, Nat.sub_0_r in HR.
  set (G := gprod (fun k => abar k n) i 0) in *.
  set (Ga := gprod (fun k => Rabs (abar k n)) i 0) in *.
  assert (HG : Rabs G <= Ga) by (unfold G, Ga; rewrite gprod_abs; lra).
  assert (HP : Rabs (factored_p i n) <= (1 + u) ^ i * Ga).
  { replace (factored_p i n) with ((factored_p i n - G) + G) by ring.
    eapply Rle_trans; [apply Rabs_triang|]. lra. }
  assert (HGa : Ga <= p_hat (S i) n).
  { eapply Rle_trans.
    - apply (gprod_mono _ (fun k => hat (abar k n))). intros k.
      split; [apply Rabs_pos|apply hat_ge_abs].
    - rewrite <- (Nat.sub_diag i), <- qhat_gprod by lia. apply qhat_le. lia. }
  assert (Hd1 : Rabs (1 + d) <= 1 + u)
    by (eapply Rle_trans; [apply Rabs_triang|]; rewrite Rabs_R1; lra).
  rewrite !Rabs_mult.
  assert (Hc := hat_ge_abs (c i n)).
  assert (H1 : Rabs (c i n) * Rabs (factored_p i n) <= hat (c i n) * ((1 + u) ^ i * p_hat (S i) n)).
  { apply Rmult_le_compat; try apply Rabs_pos; [exact Hc|].
    eapply Rle_trans; [exact HP|]. apply Rmult_le_compat_l; [apply pow_le; lra|exact HGa]. }
  assert (H0 : 0 <= Rabs (c i n) * Rabs (factored_p i n))
    by (apply Rmult_le_pos; apply Rabs_pos).
  eapply Rle_trans; [apply Rmult_le_compat; [exact H0|apply Rabs_pos|exact H1|exact Hd1]|].
  right. simpl pow. ring.
Qed.

(** ** The bound of `output_bound_exact` for the factored head *)

Theorem factored_output_within_output_bound i :
  (i < L)%nat -> INR (3 * L + N + 4) * u < 1 ->
  Rabs (factored_output i - output i) <= output_bound_exact emin prec L N abar bbar c x i.
Proof.
  intros Hi Hmu.
  assert (Hu := unit_roundoff_nonneg prec).
  assert (He := min_subnormal_pos emin).
  set (m := (3 * L + N + 4)%nat) in *.
  set (rho := (1 + u) ^ (2 * S i)).
  assert (Hrho : 1 <= rho) by apply one_le_pow_u.
  set (h := fun n => rsum (S i) (fun j => factored_k j n * x j)).
  set (H := fun n => rsum (S i) (fun j => Rabs (factored_k j n) * Rabs (x j))).
  set (D := fun (n : nat) => 2 * INR (S i)).
  assert (HD : forall n, 0 <= D n) by (intros; unfold D; assert (H0 := pos_INR (S i)); lra).
  assert (Hh : forall n, Rabs (h n) <= H n).
  { intros n. unfold h, H. eapply Rle_trans; [apply rsum_abs|]. apply rsum_le; intros.
    rewrite Rabs_mult. lra. }
  assert (Herr : forall n, Rabs (factored_state (S i) n - h n) <= (rho - 1) * H n + eta0 * rho * D n).
  { intros n. rewrite factored_state_is_scan. unfold h, H, D, rho.
    rewrite <- (state_one i n), <- (abs_state_one i n), <- (uflow_one (S i) n).
    apply (scan_state_error emin prec choice). }
  assert (Hf : forall n, is_float (factored_state (S i) n))
    by (intros n; simpl; apply (is_float_fadd emin prec)).
  assert (Hdot := dot_error emin prec choice N (factored_q i) (fun n => factored_state (S i) n)
                    h H D rho Hrho Hf Hh HD Herr).
  set (A := (1 + u) ^ S N * rho) in *.
  set (B := (1 + u) ^ (i + 2)).
  assert (HA : 1 <= A) by (unfold A; assert (H0 := one_le_pow_u prec (S N)); nra).
  assert (HB : 1 <= B) by apply one_le_pow_u.
  (* the terms Q_i K_j x_j against the exact ones *)
  set (T := fun j n => factored_q i n * factored_k j n * x j).
  set (Te := fun j n => c i n * gprod (fun k => abar k n) i j * bbar j n * x j).
  set (Ma := fun j n => Rabs (c i n) * gprod (fun k => Rabs (abar k n)) i j
                        * Rabs (bbar j n) * Rabs (x j)).
  assert (HMa : forall j n, 0 <= Ma j n).
  { intros j n. unfold Ma. repeat apply Rmult_le_pos; try apply Rabs_pos.
    apply gprod_nonneg; intros; apply Rabs_pos. }
  assert (HT : forall j n, (j < S i)%nat -> (n < N)%nat -> Rabs (T j n - Te j n) <= (B - 1) * Ma j n).
  { intros j n Hj Hn. unfold T, Te, Ma.
    replace (factored_q i n * factored_k j n * x j - c i n * gprod (fun k => abar k n) i j * bbar j n * x j)
      with ((factored_q i n * factored_k j n - c i n * gprod (fun k => abar k n) i j * bbar j n) * x j)
      by ring.
    rewrite Rabs_mult.
    eapply Rle_trans; [apply Rmult_le_compat_r; [apply Rabs_pos|apply factored_term_error; lia]|].
    assert (Hp : (1 + u) ^ (i - j + 2) <= B) by (apply pow_u_mono; lia).
    assert (0 <= Rabs (c i n) * gprod (fun k => Rabs (abar k n)) i j * Rabs (bbar j n)).
    { repeat apply Rmult_le_pos; try apply Rabs_pos. apply gprod_nonneg; intros; apply Rabs_pos. }
    assert (0 <= Rabs (x j)) by apply Rabs_pos.
    set (Y := Rabs (c i n) * gprod (fun k => Rabs (abar k n)) i j * Rabs (bbar j n)) in *.
    rewrite Rmult_assoc. apply Rmult_le_compat_r; [apply Rmult_le_pos; assumption|lra]. }
  assert (Hmag : magnitude i = rsum (S i) (fun j => rsum N (fun n => Ma j n))).
  { rewrite magnitude_alpha. apply rsum_ext; intros j _. rewrite <- rsum_scal.
    apply rsum_ext; intros n _. unfold Ma. ring. }
  assert (Hsum_h : rsum N (fun n => factored_q i n * h n) = rsum (S i) (fun j => rsum N (fun n => T j n))).
  { unfold h, T. rewrite rsum_swap. apply rsum_ext; intros n _. rewrite <- rsum_scal.
    apply rsum_ext; intros; ring. }
  assert (Hout : output i = rsum (S i) (fun j => rsum N (fun n => Te j n))).
  { rewrite output_alpha. apply rsum_ext; intros j _. unfold AlphaBound.alpha, Te.
    rewrite Rmult_comm, <- rsum_scal. apply rsum_ext; intros; ring. }
  assert (Hmid : Rabs (rsum N (fun n => factored_q i n * h n) - output i) <= (B - 1) * magnitude i).
  { rewrite Hsum_h, Hout, Hmag, rsum_minus, <- rsum_scal.
    eapply Rle_trans; [apply rsum_abs|]. apply rsum_le; intros j Hj.
    rewrite rsum_minus, <- rsum_scal. eapply Rle_trans; [apply rsum_abs|].
    apply rsum_le; intros n Hn. apply HT; assumption. }
  assert (HTe : forall j n, Rabs (Te j n) <= Ma j n).
  { intros j n. unfold Te, Ma. rewrite !Rabs_mult, gprod_abs. lra. }
  assert (HQH : rsum N (fun n => Rabs (factored_q i n) * H n) <= B * magnitude i).
  { rewrite Hmag, <- rsum_scal.
    replace (rsum N (fun n => Rabs (factored_q i n) * H n))
      with (rsum (S i) (fun j => rsum N (fun n => Rabs (T j n)))).
    - apply rsum_le; intros j Hj. rewrite <- rsum_scal. apply rsum_le; intros n Hn.
      assert (H1 := HT j n Hj Hn). assert (H2 := HTe j n).
      assert (Rabs (T j n) <= Rabs (Te j n) + Rabs (T j n - Te j n)).
      { replace (T j n) with (Te j n + (T j n - Te j n)) at 1 by ring. apply Rabs_triang. }
      nra.
    - unfold H, T. rewrite rsum_swap. apply rsum_ext; intros n _. rewrite <- rsum_scal.
      apply rsum_ext; intros; rewrite !Rabs_mult; ring. }
  set (Wsum := rsum N (fun n => hat (c i n) * p_hat (S i) n * s_hat (S i) n)).
  set (E := (1 + u) ^ S i).
  assert (HE : 1 <= E) by apply one_le_pow_u.
  assert (HQD : rsum N (fun n => Rabs (factored_q i n) * D n + 1) <= E * (Wsum * INR (i + 3))).
  { replace (E * (Wsum * INR (i + 3)))
      with (rsum N (fun n => INR (i + 3) * E * (hat (c i n) * p_hat (S i) n * s_hat (S i) n)))
      by (unfold Wsum; rewrite rsum_scal; ring).
    apply rsum_le; intros n Hn.
    assert (HQ := factored_q_le i n Hi Hn). fold E in HQ.
    assert (Hc := hat_ge_1 (c i n)). assert (Hp := p_hat_ge_1 abar (S i) n).
    assert (Hs := s_hat_ge (S i) n).
    set (X := hat (c i n) * p_hat (S i) n) in *.
    assert (HX : 1 <= X) by (unfold X; nra).
    assert (Hi0 := pos_INR i).
    assert (HS1 : INR (S i) = INR i + 1) by apply S_INR.
    assert (HI3 : INR (i + 3) = INR i + 3) by (rewrite plus_INR; simpl; ring).
    unfold D. rewrite HS1 in *. rewrite HI3.
    assert (H1 : Rabs (factored_q i n) * (2 * (INR i + 1)) <= E * X * (2 * (INR i + 1)))
      by (apply Rmult_le_compat_r; lra).
    assert (H2 : 1 <= E * X) by nra.
    assert (H3 : E * X * (2 * INR i + 3) <= E * X * ((INR i + 1) * (INR i + 3)))
      by (apply Rmult_le_compat_l; nra).
    assert (H4 : E * X * ((INR i + 1) * (INR i + 3)) <= E * X * (s_hat (S i) n * (INR i + 3)))
      by (apply Rmult_le_compat_l; [nra|apply Rmult_le_compat_r; lra]).
    replace ((INR i + 3) * E * (hat (c i n) * p_hat (S i) n * s_hat (S i) n))
      with (E * X * (s_hat (S i) n * (INR i + 3))) by (unfold X; ring).
    nra. }
  assert (Hg := gamma_nonneg m u Hu Hmu).
  assert (Hpow : forall k, (k <= m)%nat -> (1 + u) ^ k <= 1 + gamma_exact m u).
  { intros k Hk. eapply Rle_trans; [apply pow_le_gamma; [exact Hu|]|].
    - eapply Rle_lt_trans; [|exact Hmu]. apply Rmult_le_compat_r; [exact Hu|]. apply le_INR; exact Hk.
    - apply Rplus_le_compat_l. apply gamma_mono; [exact Hk|exact Hu|exact Hmu]. }
  assert (HAB : A * B <= 1 + gamma_exact m u).
  { unfold A, B, rho. rewrite <- !pow_add. apply Hpow. unfold m; lia. }
  assert (HAE : A * E <= 1 + gamma_exact m u).
  { unfold A, E, rho. rewrite <- !pow_add. apply Hpow. unfold m; lia. }
  assert (Hmag0 : 0 <= magnitude i).
  { rewrite Hmag. apply rsum_nonneg; intros j _. apply rsum_nonneg; intros n _. apply HMa. }
  assert (HW0 : 0 <= Wsum).
  { unfold Wsum. apply rsum_nonneg; intros n _. assert (H1 := hat_ge_1 (c i n)).
    assert (H2 := p_hat_ge_1 abar (S i) n). assert (H3 := s_hat_nonneg bbar x (S i) n).
    apply Rmult_le_pos; [nra|lra]. }
  assert (HQH0 : 0 <= rsum N (fun n => Rabs (factored_q i n) * H n)).
  { apply rsum_nonneg; intros n _. apply Rmult_le_pos; [apply Rabs_pos|].
    eapply Rle_trans; [apply Rabs_pos|apply Hh]. }
  unfold factored_output.
  replace (dot N (factored_q i) (fun n => factored_state (S i) n) - output i)
    with ((dot N (factored_q i) (fun n => factored_state (S i) n)
           - rsum N (fun n => factored_q i n * h n))
          + (rsum N (fun n => factored_q i n * h n) - output i)) by ring.
  eapply Rle_trans; [apply Rabs_triang|].
  unfold output_bound_exact. cbv zeta. change (3 * L + N + 4)%nat with m.
  unfold underflow_weight. fold Wsum.
  assert (Z1 : (A - 1) * rsum N (fun n => Rabs (factored_q i n) * H n) <= (A - 1) * (B * magnitude i))
    by (apply Rmult_le_compat_l; lra).
  assert (Z2 : eta0 * A * rsum N (fun n => Rabs (factored_q i n) * D n + 1)
               <= eta0 * A * (E * (Wsum * INR (i + 3))))
    by (apply Rmult_le_compat_l; [nra|exact HQD]).
  assert (Z3 : eta0 * A * (E * (Wsum * INR (i + 3)))
               <= (1 + gamma_exact m u) * eta0 * (Wsum * INR (i + 3))).
  { replace (eta0 * A * (E * (Wsum * INR (i + 3)))) with ((A * E) * (eta0 * (Wsum * INR (i + 3))))
      by ring.
    replace ((1 + gamma_exact m u) * eta0 * (Wsum * INR (i + 3)))
      with ((1 + gamma_exact m u) * (eta0 * (Wsum * INR (i + 3)))) by ring.
    apply Rmult_le_compat_r; [|exact HAB || exact HAE].
    apply Rmult_le_pos; [lra|apply Rmult_le_pos; [exact HW0|apply pos_INR]]. }
  assert (Z4 : (A - 1) * (B * magnitude i) + (B - 1) * magnitude i
               <= gamma_exact m u * magnitude i).
  { replace ((A - 1) * (B * magnitude i) + (B - 1) * magnitude i)
      with ((A * B - 1) * magnitude i) by ring.
    apply Rmult_le_compat_r; lra. }
  lra.
Qed.

End Factored.

Theorem factored_output_within_output_bound_binary64 choice L N abar bbar c x i :
  factors_normal (-1074) 53 choice L N abar bbar c ->
  (i < L)%nat -> INR (3 * L + N + 4) * unit_roundoff 53 < 1 ->
  Rabs (factored_output (-1074) 53 choice N abar bbar c x i - output N abar bbar c x i)
  <= output_bound_exact (-1074) 53 L N abar bbar c x i.
Proof. intros. apply (@factored_output_within_output_bound (-1074) 53 prec53); assumption. Qed.

Theorem factored_output_within_output_bound_binary32 choice L N abar bbar c x i :
  factors_normal (-149) 24 choice L N abar bbar c ->
  (i < L)%nat -> INR (3 * L + N + 4) * unit_roundoff 24 < 1 ->
  Rabs (factored_output (-149) 24 choice N abar bbar c x i - output N abar bbar c x i)
  <= output_bound_exact (-149) 24 L N abar bbar c x i.
Proof. intros. apply (@factored_output_within_output_bound (-149) 24 prec24); assumption. Qed.
