(* The entry bound of `theorems::t3::entry_bound` (T2 at function level: the float
   alpha~ of a channel and the float matrix of its gated head, against the exact
   alpha~), in both evaluation orders, for every FLT format (binary64, binary32):
     |fl(alpha_ij) - alpha_ij| <= gamma_m |alpha~|_ij + eta alpha~^{>=1}_ij,
     eta = (L + 1) eta0 (1 + gamma_m),  m = 2L + N + 4,
   |alpha~| the alpha~ of the entrywise-absolute channel, alpha~^{>=1} that of the
   channel with entries max(1, |.|).  (The Rust function evaluates this formula in f64
   and compensates its own rounding; the formula is what is proven here.) *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core Relative.
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

(** ** (F1) of `src/fast/mod.rs` for the row-by-row loop *)

(** The smallest positive normal number lambda = 2^(emin + prec - 1). *)
Definition min_normal : R := bpow radix2 (emin + prec - 1).

Lemma min_subnormal_le_normal : eta0 = 2 * u * min_normal.
Proof.
  unfold min_normal, unit_roundoff, u_ro, min_subnormal.
  replace (bpow radix2 emin)
    with (bpow radix2 (- prec + 1) * bpow radix2 (emin + prec - 1))
    by (rewrite <- bpow_plus; f_equal; lia).
  field.
Qed.

(** Rust: `fast::eta`: 2 (L + N + 2) N lambda max(1, max|C|) max(1, max|Bbar|) Phat, with the
    maxima and Phat = max_n prod_{k<L} max(1, |Abar_kn|) given as bounds Cm, Bm, Ph. *)
Definition fast_eta (Cm Bm Ph : R) : R :=
  2 * INR (L + N + 2) * INR N * min_normal * Cm * Bm * Ph.

(** Rust: `fast::entry_bound` (F1): gamma_{i-j+N+1} M_ij + eta. *)
Definition fast_entry_bound (Cm Bm Ph : R) (i j : nat) : R :=
  gamma_exact (i - j + N + 1) u * alpha_abs i j + fast_eta Cm Bm Ph.

(** (F1) for `ssm::attention_matrix` (the generic row-by-row loop). *)
Theorem hidden_attention_within_fast_entry_bound (Cm Bm Ph : R) i j :
  (forall n, is_float (c i n)) -> (0 < N)%nat -> (j <= i)%nat -> (i < L)%nat ->
  INR (i - j + N + 2) * u <= 1 ->
  (forall n, (n < N)%nat -> hat (c i n) <= Cm) ->
  (forall n, (n < N)%nat -> hat (bbar j n) <= Bm) ->
  (forall n, (n < N)%nat -> p_hat abar L n <= Ph) ->
  Rabs (hidden_attention_row emin prec choice N abar bbar c i j - alpha i j)
  <= fast_entry_bound Cm Bm Ph i j.
Proof.
  intros Hc HN Hji Hi Hmu HC HB HP.
  assert (Hu := unit_roundoff_nonneg prec). assert (He := min_subnormal_pos emin).
  set (k := (i - j + N + 1)%nat).
  assert (Hk : INR k * u < 1).
  { unfold k. assert (INR (i - j + N + 2) = INR (i - j + N + 1) + 1)
      by (rewrite <- S_INR; f_equal; lia).
    assert (0 < u) by (unfold unit_roundoff, u_ro; apply Rmult_lt_0_compat; [lra|apply bpow_gt_0]).
    nra. }
  eapply Rle_trans;
    [apply (hidden_attention_entry_error emin prec choice 0 N abar bbar c (fun _ => 0));
     assumption|].
  rewrite <- pow_add. replace (S N + (i - j))%nat with k by (unfold k; lia).
  assert (Hlam : (1 + u) ^ k <= 1 + gamma_exact k u) by (apply pow_le_gamma; assumption).
  assert (Hl1 : 1 <= (1 + u) ^ k) by apply one_le_pow_u.
  assert (Hg := gamma_nonneg k u Hu Hk).
  unfold fast_entry_bound. fold k.
  apply Rplus_le_compat.
  - replace (rsum N (fun n => Rabs (bbar j n) * Rabs (row_prod abar c i (i - j) n)))
      with (alpha_abs i j).
    + apply Rmult_le_compat_r; [|lra].
      apply rsum_nonneg; intros n _. apply Rmult_le_pos; [apply Rmult_le_pos|apply Rabs_pos].
      * apply Rabs_pos.
      * apply gprod_nonneg; intros; apply Rabs_pos.
    + unfold alpha_abs. apply rsum_ext; intros n _.
      rewrite row_prod_gprod by lia. replace (i - (i - j))%nat with j by lia.
      rewrite !Rabs_mult, gprod_abs. ring.
  - (* the absolute part *)
    assert (HPn : forall n, (n < N)%nat -> row_uflow abar i (i - j) n <= INR (i - j) * Ph).
    { intros n Hn. eapply Rle_trans; [apply row_uflow_le|].
      apply Rmult_le_compat_l; [apply pos_INR|].
      eapply Rle_trans; [apply qhat_le; lia|].
      eapply Rle_trans; [apply p_hat_mono; exact Hi|]. apply HP, Hn. }
    assert (Hsum : rsum N (fun n => Rabs (bbar j n) * row_uflow abar i (i - j) n + 1)
                   <= INR N * (INR L * (Bm * Ph))).
    { rewrite <- rsum_const. apply rsum_le; intros n Hn.
      assert (Hb := hat_ge_abs (bbar j n)). assert (Hb1 := hat_ge_1 (bbar j n)).
      assert (HBn := HB n Hn). assert (HPn' := HPn n Hn).
      assert (HV0 := row_uflow_nonneg abar i (i - j) n).
      assert (HPh : 1 <= Ph) by (eapply Rle_trans; [apply p_hat_ge_1|apply HP, Hn]).
      assert (Hij : INR (i - j) + 1 <= INR L) by (rewrite <- S_INR; apply le_INR; lia).
      assert (H1 : Rabs (bbar j n) * row_uflow abar i (i - j) n <= Bm * (INR (i - j) * Ph))
        by (apply Rmult_le_compat; [apply Rabs_pos|lra|lra|exact HPn']).
      assert (HBP : 1 <= Bm * Ph) by nra.
      assert (H2 : (INR (i - j) + 1) * (Bm * Ph) <= INR L * (Bm * Ph))
        by (apply Rmult_le_compat_r; lra).
      nra. }
    assert (Hcm : 1 <= Cm) by (eapply Rle_trans; [apply hat_ge_1|apply (HC 0%nat HN)]).
    assert (Hbm : 1 <= Bm) by (eapply Rle_trans; [apply hat_ge_1|apply (HB 0%nat HN)]).
    assert (Hpm : 1 <= Ph) by (eapply Rle_trans; [apply p_hat_ge_1|apply (HP 0%nat HN)]).
    (* eta0 (1+u)^k <= 2 lambda *)
    assert (Heta : min_subnormal emin * (1 + u) ^ k <= 2 * min_normal).
    { rewrite min_subnormal_le_normal.
      assert (Hn : 0 < min_normal) by apply bpow_gt_0.
      assert (H1 : u * (1 + gamma_exact k u) <= 1).
      { rewrite one_plus_gamma by exact Hk.
        apply (Rmult_le_reg_r (1 - INR k * u)); [lra|].
        rewrite Rmult_assoc, Rinv_l by lra. unfold k in *.
        assert (INR (i - j + N + 2) = INR (i - j + N + 1) + 1)
          by (rewrite <- S_INR; f_equal; lia). nra. }
      assert (H2 : u * (1 + u) ^ k <= 1)
        by (eapply Rle_trans; [|exact H1]; apply Rmult_le_compat_l; lra).
      nra. }
    assert (HS0 : 0 <= rsum N (fun n => Rabs (bbar j n) * row_uflow abar i (i - j) n + 1)).
    { apply rsum_nonneg; intros n _. assert (H0 := row_uflow_nonneg abar i (i - j) n).
      assert (H1 := Rabs_pos (bbar j n)). nra. }
    apply Rle_trans with (2 * min_normal * (INR N * (INR L * (Bm * Ph)))).
    + apply Rmult_le_compat; [nra|exact HS0|exact Heta|exact Hsum].
    + unfold fast_eta.
      assert (HL : INR L <= INR (L + N + 2)) by (apply le_INR; lia).
      assert (Hn : 0 < min_normal) by apply bpow_gt_0.
      assert (HN' := pos_INR N). assert (HL0 := pos_INR L).
      assert (H3 : INR L * (Bm * Ph) <= INR (L + N + 2) * (Cm * Bm * Ph)).
      { assert (HBP : 1 <= Bm * Ph) by nra.
        apply Rmult_le_compat; [lra|lra|lra|].
        replace (Cm * Bm * Ph) with (Cm * (Bm * Ph)) by ring.
        rewrite <- (Rmult_1_l (Bm * Ph)) at 1. apply Rmult_le_compat_r; lra. }
      assert (H4 : INR N * (INR L * (Bm * Ph)) <= INR N * (INR (L + N + 2) * (Cm * Bm * Ph)))
        by (apply Rmult_le_compat_l; lra).
      replace (2 * INR (L + N + 2) * INR N * min_normal * Cm * Bm * Ph)
        with (2 * min_normal * (INR N * (INR (L + N + 2) * (Cm * Bm * Ph)))) by ring.
      apply Rmult_le_compat_l; [lra|exact H4].
Qed.

End Entry.
