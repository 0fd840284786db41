(* The entry bound of `theorems::t3::entry_bound` (T2 at function level: the float
   alpha~ of a channel and the float matrix of its gated head, against the exact
   alpha~), in both evaluation orders, for every FLT format (binary64, binary32):
     |fl(alpha_ij) - alpha_ij| <= gamma_m |alpha~|_ij + eta alpha~^{>=1}_ij,
     eta = (L + 1) eta0 (1 + gamma_m),  m = 2L + N + 4,
   |alpha~| the alpha~ of the entrywise-absolute channel, alpha~^{>=1} that of the
   channel with entries max(1, |.|).  (The Rust function evaluates this formula in f64
   and compensates its own rounding; the formula is what is proven here.) *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core.
From HiddenAttention Require Import RealSum Gamma FloatModel ScanBound AlphaBound GatedBound.

Open Scope R_scope.

Section Entry.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.

Local Notation u := (unit_roundoff prec).
Local Notation eta0 := (min_subnormal emin).
Local Notation is_float := (is_float emin prec).

Variables (L N : nat) (abar bbar c : nat -> nat -> R).

Local Notation alpha := (alpha N abar bbar c).

(** |alpha~|_ij and alpha~^{>=1}_ij. *)
Definition alpha_abs (i j : nat) : R :=
  rsum N (fun n => Rabs (c i n) * gprod (fun k => Rabs (abar k n)) i j * Rabs (bbar j n)).

Definition alpha_hat (i j : nat) : R :=
  rsum N (fun n => hat (c i n) * gprod (fun k => hat (abar k n)) i j * hat (bbar j n)).

(** Rust: `theorems::t3::entry_bound` (the formula it evaluates). *)
Definition entry_bound (i j : nat) : R :=
  let g := gamma_exact (2 * L + N + 4) u in
  g * alpha_abs i j + INR (L + 1) * eta0 * (1 + g) * alpha_hat i j.

Lemma gprod_nonneg (a : nat -> R) i j : (forall k, 0 <= a k) -> 0 <= gprod a i j.
Proof.
  intros Ha. induction i; [simpl; lra|].
  change (gprod a (S i) j) with (if Nat.leb (S i) j then 1 else gprod a i j * a (S i)).
  destruct (Nat.leb (S i) j); [lra|]. apply Rmult_le_pos; auto.
Qed.

Lemma gprod_ge_1 (a : nat -> R) i j : (forall k, 1 <= a k) -> 1 <= gprod a i j.
Proof.
  intros Ha. induction i; [simpl; lra|].
  change (gprod a (S i) j) with (if Nat.leb (S i) j then 1 else gprod a i j * a (S i)).
  destruct (Nat.leb (S i) j); [lra|]. assert (H := Ha (S i)). nra.
Qed.

Lemma qhat_gprod i d n :
  (d <= i)%nat -> qhat abar i d n = gprod (fun k => hat (abar k n)) i (i - d).
Proof.
  induction d as [|d IH]; intros H; simpl qhat.
  - rewrite Nat.sub_0_r, gprod_le by lia. reflexivity.
  - rewrite IH by lia. rewrite (gprod_left _ i (i - S d)) by lia.
    replace (S (i - S d)) with (i - d)%nat by lia. ring.
Qed.

Lemma key_qhat_gprod j d n : key_qhat abar j d n = gprod (fun k => hat (abar k n)) (j + d) j.
Proof.
  induction d as [|d IH]; simpl key_qhat.
  - rewrite Nat.add_0_r, gprod_le by lia. reflexivity.
  - rewrite IH, Nat.add_succ_r, gprod_S by lia. reflexivity.
Qed.

(** The common last step: from the entry lemma's form to [entry_bound]. *)
Lemma entry_bound_from i j (W V : nat -> R) (E : R) :
  (j <= i)%nat -> (i < L)%nat -> INR (2 * L + N + 4) * u < 1 ->
  (forall n, 0 <= V n) ->
  (forall n, V n <= INR (i - j) * gprod (fun k => hat (abar k n)) i j) ->
  (forall n, 0 <= W n <= hat (c i n) * hat (bbar j n)) ->
  E <= ((1 + u) ^ S N * (1 + u) ^ (i - j) - 1) * alpha_abs i j
       + eta0 * ((1 + u) ^ S N * (1 + u) ^ (i - j))
         * rsum N (fun n => W n * V n + 1) ->
  E <= entry_bound i j.
Proof.
  intros Hji Hi Hmu HV0 HV HW HE.
  assert (Hu := unit_roundoff_nonneg prec). assert (He := min_subnormal_pos emin).
  set (m := (2 * L + N + 4)%nat) in *.
  set (lam := (1 + u) ^ S N * (1 + u) ^ (i - j)) in *.
  assert (Hlam : lam <= 1 + gamma_exact m u).
  { unfold lam. rewrite <- pow_add.
    eapply Rle_trans; [apply pow_le_gamma; [exact Hu|]|].
    - eapply Rle_lt_trans; [|exact Hmu]. apply Rmult_le_compat_r; [exact Hu|].
      apply le_INR. unfold m; lia.
    - apply Rplus_le_compat_l. apply gamma_mono; [unfold m; lia|exact Hu|exact Hmu]. }
  assert (Hl1 : 1 <= lam).
  { unfold lam. assert (H1 := one_le_pow_u prec (S N)).
    assert (H2 := one_le_pow_u prec (i - j)). nra. }
  assert (Hg := gamma_nonneg m u Hu Hmu).
  assert (Habs : 0 <= alpha_abs i j).
  { apply rsum_nonneg; intros n _. apply Rmult_le_pos; [apply Rmult_le_pos|apply Rabs_pos].
    - apply Rabs_pos.
    - apply gprod_nonneg; intros; apply Rabs_pos. }
  assert (HS : rsum N (fun n => W n * V n + 1) <= INR (L + 1) * alpha_hat i j).
  { unfold alpha_hat. rewrite <- rsum_scal. apply rsum_le; intros n _.
    assert (HVn := HV n). destruct (HW n) as [HW0 HW1].
    set (G := gprod (fun k => hat (abar k n)) i j) in *.
    assert (HG : 1 <= G) by (apply gprod_ge_1; intros; apply hat_ge_1).
    assert (Hb1 := hat_ge_1 (bbar j n)). assert (Hc1 := hat_ge_1 (c i n)).
    assert (HV0n := HV0 n). assert (Hij := pos_INR (i - j)).
    set (Y := hat (c i n) * hat (bbar j n)) in *.
    assert (HY : 1 <= Y) by (unfold Y; nra).
    assert (H1 : W n * V n <= Y * (INR (i - j) * G)) by (apply Rmult_le_compat; lra).
    set (X := hat (c i n) * G * hat (bbar j n)).
    assert (HXY : X = Y * G) by (unfold X, Y; ring).
    assert (HX : 1 <= X) by (rewrite HXY; nra).
    assert (HL : INR (i - j) + 1 <= INR (L + 1)) by (rewrite <- S_INR; apply le_INR; lia).
    assert (H2 : (INR (i - j) + 1) * X <= INR (L + 1) * X) by (apply Rmult_le_compat_r; lra).
    replace (Y * (INR (i - j) * G)) with (INR (i - j) * X) in H1 by (rewrite HXY; ring).
    lra. }
  eapply Rle_trans; [exact HE|]. unfold entry_bound. cbv zeta. change (2 * L + N + 4)%nat with m.
  assert (HS0 : 0 <= rsum N (fun n => W n * V n + 1)).
  { apply rsum_nonneg; intros n _. assert (H0 := HV0 n). destruct (HW n). nra. }
  apply Rplus_le_compat.
  - apply Rmult_le_compat_r; [exact Habs|lra].
  - apply Rle_trans with (eta0 * ((1 + gamma_exact m u) * (INR (L + 1) * alpha_hat i j))).
    + rewrite Rmult_assoc. apply Rmult_le_compat_l; [lra|]. apply Rmult_le_compat; lra.
    + right; ring.
Qed.

(** alpha~ row by row (Rust: `ssm::attention_matrix`, C_i times Abar_i, Abar_{i-1}, ...). *)
Theorem hidden_attention_within_entry_bound i j :
  (forall n, is_float (c i n)) -> (j <= i)%nat -> (i < L)%nat ->
  INR (2 * L + N + 4) * u < 1 ->
  Rabs (hidden_attention_row emin prec choice N abar bbar c i j - alpha i j) <= entry_bound i j.
Proof.
  intros Hc Hji Hi Hmu.
  apply (entry_bound_from i j (fun n => Rabs (bbar j n)) (fun n => row_uflow abar i (i - j) n));
    auto.
  - intros n; apply row_uflow_nonneg.
  - intros n.
    assert (Hq : qhat abar i (i - j) n = gprod (fun k => hat (abar k n)) i j)
      by (rewrite qhat_gprod by lia; f_equal; lia).
    rewrite <- Hq. apply row_uflow_le.
  - intros n. split; [apply Rabs_pos|]. assert (H1 := hat_ge_abs (bbar j n)).
    assert (H2 := hat_ge_1 (c i n)). assert (H3 := Rabs_pos (bbar j n)). nra.
  - eapply Rle_trans;
    [apply (hidden_attention_entry_error emin prec choice 0 N abar bbar c (fun _ => 0)); assumption|].
    right. f_equal.
    f_equal. unfold alpha_abs. apply rsum_ext; intros n _.
    rewrite row_prod_gprod by lia. replace (i - (i - j))%nat with j by lia.
    rewrite !Rabs_mult, gprod_abs. ring.
Qed.

(** The gated head's matrix key by key (Rust: `GatedLinearHead::attention`, k_j times
    g_{j+1}, ..., g_i, then the dot product with q_i). *)
Theorem gated_score_within_entry_bound i j :
  (forall n, is_float (bbar j n)) -> (j <= i)%nat -> (i < L)%nat ->
  INR (2 * L + N + 4) * u < 1 ->
  Rabs (gated_score emin prec choice N abar bbar c i j - alpha i j) <= entry_bound i j.
Proof.
  intros Hb Hji Hi Hmu.
  apply (entry_bound_from i j (fun n => Rabs (c i n)) (fun n => key_uflow abar j (i - j) n));
    auto.
  - intros n; apply key_uflow_nonneg.
  - intros n. eapply Rle_trans; [apply key_uflow_le|].
    rewrite key_qhat_gprod. replace (j + (i - j))%nat with i by lia. lra.
  - intros n. split; [apply Rabs_pos|]. assert (H1 := hat_ge_abs (c i n)).
    assert (H2 := hat_ge_1 (bbar j n)). assert (H3 := Rabs_pos (c i n)). nra.
  - eapply Rle_trans;
    [apply (gated_score_error emin prec choice 0 N abar bbar c (fun _ => 0)); assumption|].
    right.
    f_equal. f_equal. unfold alpha_abs. apply rsum_ext; intros n _.
    rewrite key_prod_gprod. replace (j + (i - j))%nat with i by lia.
    rewrite !Rabs_mult, gprod_abs. ring.
Qed.

End Entry.
