(* The forward error bound of the float gated head (T2a: Rust
   `GatedLinearHead::output` of `ssm::gated_head(ch)`, q = C, k = Bbar, g = Abar,
   v = x), within the same `output_bound_exact` as the scan, for every FLT format.

   The Rust evaluation order (`for_each_score`, then `output`):
     for j = 0 .. L-1:  p <- k_j;  for i = j .. L-1:
       (i > j) p[n] <- fl(p[n] * g_i[n]);  s_ij <- dot(q_i, p);  y_i <- fl(y_i + fl(s_ij v_j))
   so y_i accumulates s_i0 v_0, s_i1 v_1, ..., s_ii v_i in this order: a dot product of
   the float scores with x.  The products are formed from the left (k_j g_{j+1} ...
   g_i), so an absolute error is carried on by the later gates and by q_i. *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core.
From HiddenAttention Require Import RealSum Gamma FloatModel ScanBound AlphaBound.

Open Scope R_scope.

Section Gated.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.

Local Notation u := (unit_roundoff prec).
Local Notation eta0 := (min_subnormal emin).
Local Notation fmul := (fmul emin prec choice).
Local Notation is_float := (is_float emin prec).
Local Notation dot := (dot emin prec choice).

Variables (L N : nat) (abar bbar c : nat -> nat -> R) (x : nat -> R).

Local Notation output := (output N abar bbar c x).
Local Notation magnitude := (magnitude N abar bbar c x).
Local Notation p_hat := (p_hat abar).
Local Notation s_hat := (s_hat bbar x).
Local Notation alpha := (alpha N abar bbar c).

(** The key k_j = Bbar_j carried forward by d gates: exact and float. *)
Fixpoint key_prod (j d n : nat) : R :=
  match d with
  | O => bbar j n
  | S d' => key_prod j d' n * abar (j + d) n
  end.

Fixpoint key_prod_float (j d n : nat) : R :=
  match d with
  | O => bbar j n
  | S d' => fmul (key_prod_float j d' n) (abar (j + d) n)
  end.

(** Rust: the score s_ij = dot(q_i, p) of `for_each_score` (j <= i). *)
Definition gated_score (i j : nat) : R := dot N (c i) (fun n => key_prod_float j (i - j) n).

(** Rust: `GatedLinearHead::output`: y_i = sum_{j<=i} s_ij v_j, accumulated in j order. *)
Definition gated_output (i : nat) : R := dot (S i) (gated_score i) x.

Lemma key_prod_gprod j d n : key_prod j d n = bbar j n * gprod (fun k => abar k n) (j + d) j.
Proof.
  induction d as [|d IH]; simpl key_prod.
  - rewrite Nat.add_0_r, gprod_le by lia. ring.
  - rewrite IH, Nat.add_succ_r, gprod_S by lia. ring.
Qed.

Fixpoint key_uflow (j d n : nat) : R :=
  match d with
  | O => 0
  | S d' => Rabs (abar (j + d) n) * key_uflow j d' n + 1
  end.

Lemma key_uflow_nonneg j d n : 0 <= key_uflow j d n.
Proof. induction d; simpl; [lra|]. assert (H := Rabs_pos (abar (j + S d) n)). nra. Qed.

Lemma key_prod_error j d n :
  Rabs (key_prod_float j d n - key_prod j d n)
  <= ((1 + u) ^ d - 1) * Rabs (key_prod j d n) + eta0 * (1 + u) ^ d * key_uflow j d n.
Proof.
  assert (Hu := unit_roundoff_nonneg prec). assert (He := min_subnormal_pos emin).
  induction d as [|d IH]; simpl key_prod_float; simpl key_prod; simpl key_uflow.
  - unfold Rminus. rewrite Rplus_opp_r, Rabs_R0. simpl. lra.
  - set (P := key_prod j d n) in *. set (pf := key_prod_float j d n) in *.
    set (a := abar (j + S d) n). set (V := key_uflow j d n) in *.
    set (rho := (1 + u) ^ d) in *.
    assert (Hrho : 1 <= rho) by apply one_le_pow_u.
    assert (HV : 0 <= V) by apply key_uflow_nonneg.
    replace ((1 + u) ^ S d) with (rho * (1 + u)) by (unfold rho; simpl; ring).
    eapply Rle_trans; [apply (fmul_error emin prec choice)|].
    rewrite Rabs_mult.
    assert (Ha := Rabs_pos a). assert (HP := Rabs_pos P).
    assert (H1 : Rabs a * Rabs (pf - P) * (1 + u)
                 <= Rabs a * ((rho - 1) * Rabs P + eta0 * rho * V) * (1 + u)).
    { apply Rmult_le_compat_r; [lra|]. apply Rmult_le_compat_l; [lra|exact IH]. }
    match goal with |- ?l <= ?r =>
      assert (Hd : r - (Rabs a * ((rho - 1) * Rabs P + eta0 * rho * V) * (1 + u)
                        + u * (Rabs P * Rabs a) + eta0)
                   = eta0 * (rho * (1 + u) - 1)) by ring
    end.
    assert (0 <= eta0 * (rho * (1 + u) - 1)) by (apply Rmult_le_pos; nra).
    lra.
Qed.

Lemma is_float_key_prod j d n : is_float (bbar j n) -> is_float (key_prod_float j d n).
Proof. destruct d; simpl; [tauto|intros; apply (is_float_fmul emin prec)]. Qed.

(** The hats of the gates a key passes: Q_d = prod_{k=j+1}^{j+d} hat(Abar_k). *)
Fixpoint key_qhat (j d n : nat) : R :=
  match d with
  | O => 1
  | S d' => key_qhat j d' n * hat (abar (j + d) n)
  end.

Lemma key_qhat_p_hat j d n : key_qhat j d n * p_hat (S j) n = p_hat (S (j + d)) n.
Proof.
  induction d as [|d IH]; simpl key_qhat.
  - rewrite Nat.add_0_r. ring.
  - rewrite Nat.add_succ_r.
    change (p_hat (S (S (j + d))) n) with (p_hat (S (j + d)) n * hat (abar (S (j + d)) n)).
    rewrite <- IH. ring.
Qed.

Lemma p_hat_mono s t n : (s <= t)%nat -> p_hat s n <= p_hat t n.
Proof.
  induction 1 as [|t Hst IH]; [lra|]. simpl.
  assert (H1 := hat_ge_1 (abar t n)). assert (H2 := p_hat_ge_1 abar s n). nra.
Qed.

Lemma key_qhat_ge_1 j d n : 1 <= key_qhat j d n.
Proof. induction d; simpl; [lra|]. assert (H := hat_ge_1 (abar (j + S d) n)). nra. Qed.

Lemma key_qhat_le i j d n : (j + d <= i)%nat -> key_qhat j d n <= p_hat (S i) n.
Proof.
  intros H. apply Rle_trans with (p_hat (S (j + d)) n); [|apply p_hat_mono; lia].
  rewrite <- key_qhat_p_hat.
  assert (H1 := key_qhat_ge_1 j d n). assert (H2 := p_hat_ge_1 abar (S j) n). nra.
Qed.

Lemma key_uflow_le j d n : key_uflow j d n <= INR d * key_qhat j d n.
Proof.
  induction d as [|d IH]; simpl key_uflow; simpl key_qhat; [simpl; lra|].
  rewrite S_INR.
  assert (Ha := hat_ge_abs (abar (j + S d) n)). assert (Ha1 := hat_ge_1 (abar (j + S d) n)).
  assert (Hq := key_qhat_ge_1 j d n). assert (HV := key_uflow_nonneg j d n).
  assert (Hd := pos_INR d). assert (Haa := Rabs_pos (abar (j + S d) n)).
  assert (H1 : Rabs (abar (j + S d) n) * key_uflow j d n
               <= hat (abar (j + S d) n) * (INR d * key_qhat j d n))
    by (apply Rmult_le_compat; lra).
  assert (H2 : 1 <= key_qhat j d n * hat (abar (j + S d) n)) by nra.
  nra.
Qed.

(** The float score against the exact alpha~_ij (j <= i). *)
Theorem gated_score_error i j :
  (forall n, is_float (bbar j n)) -> (j <= i)%nat ->
  Rabs (gated_score i j - alpha i j)
  <= ((1 + u) ^ (S N) * (1 + u) ^ (i - j) - 1)
       * rsum N (fun n => Rabs (c i n) * Rabs (key_prod j (i - j) n))
     + eta0 * ((1 + u) ^ (S N) * (1 + u) ^ (i - j))
       * rsum N (fun n => Rabs (c i n) * key_uflow j (i - j) n + 1).
Proof.
  intros Hb Hji. unfold gated_score.
  replace (alpha i j) with (rsum N (fun n => c i n * key_prod j (i - j) n)).
  - apply (dot_error emin prec choice N (c i) (fun n => key_prod_float j (i - j) n)
             (fun n => key_prod j (i - j) n) (fun n => Rabs (key_prod j (i - j) n))
             (fun n => key_uflow j (i - j) n)).
    + apply one_le_pow_u.
    + intros; apply is_float_key_prod, Hb.
    + intros; lra.
    + intros; apply key_uflow_nonneg.
    + intros n; apply key_prod_error.
  - unfold AlphaBound.alpha. apply rsum_ext; intros n _. rewrite key_prod_gprod.
    replace (j + (i - j))%nat with i by lia. ring.
Qed.

(** ** The bound of `output_bound_exact` for the gated head *)

Theorem gated_output_within_output_bound i :
  (forall t n, is_float (bbar t n)) -> (0 < N)%nat -> (i < L)%nat ->
  INR (3 * L + N + 4) * u < 1 ->
  Rabs (gated_output i - output i) <= output_bound_exact emin prec L N abar bbar c x i.
Proof.
  intros Hb HN Hi Hmu.
  assert (Hu := unit_roundoff_nonneg prec).
  assert (He := min_subnormal_pos emin).
  set (m := (3 * L + N + 4)%nat) in *.
  set (rho := (1 + u) ^ (S N) * (1 + u) ^ i).
  assert (Hrho : 1 <= rho)
    by (unfold rho; assert (H1 := one_le_pow_u prec (S N)); assert (H2 := one_le_pow_u prec i); nra).
  set (H := fun j => if Nat.leb j i
                     then rsum N (fun n => Rabs (c i n) * Rabs (key_prod j (i - j) n)) else 0).
  set (D := fun j => if Nat.leb j i
                     then rsum N (fun n => Rabs (c i n) * key_uflow j (i - j) n + 1) else 0).
  set (h := fun j => if Nat.leb j i then alpha i j else gated_score i j).
  assert (HH : forall j, 0 <= H j).
  { intros j. unfold H. destruct (Nat.leb j i); [|lra]. apply rsum_nonneg; intros.
    apply Rmult_le_pos; apply Rabs_pos. }
  assert (HD : forall j, 0 <= D j).
  { intros j. unfold D. destruct (Nat.leb j i); [|lra]. apply rsum_nonneg; intros k _.
    assert (H0 := key_uflow_nonneg j (i - j) k). assert (H1 := Rabs_pos (c i k)). nra. }
  assert (Hh : forall j, (j < S i)%nat -> Rabs (h j) <= H j).
  { intros j Hj. unfold h, H. destruct (Nat.leb_spec j i) as [Hji|Hji]; [|lia].
    unfold AlphaBound.alpha. eapply Rle_trans; [apply rsum_abs|]. apply rsum_le; intros n _.
    rewrite key_prod_gprod. replace (j + (i - j))%nat with i by lia.
    rewrite !Rabs_mult. right; ring. }
  (* the scores above the diagonal never enter: restrict to the first S i *)
  set (H' := fun j => if Nat.leb j i then H j else Rabs (h j)).
  assert (HH' : forall j, 0 <= H' j).
  { intros j. unfold H'. destruct (Nat.leb j i); [apply HH|apply Rabs_pos]. }
  assert (Hh' : forall j, Rabs (h j) <= H' j).
  { intros j. unfold H'. destruct (Nat.leb_spec j i) as [Hji|Hji]; [apply Hh; lia|lra]. }
  assert (Herr : forall j, Rabs (gated_score i j - h j) <= (rho - 1) * H' j + eta0 * rho * D j).
  { intros j. unfold H', h, H, D. cbv beta. destruct (Nat.leb_spec j i) as [Hj|Hj].
    - eapply Rle_trans; [apply gated_score_error; [intros; apply Hb|exact Hj]|].
      assert (Hp : (1 + u) ^ S N * (1 + u) ^ (i - j) <= rho).
      { unfold rho. apply Rmult_le_compat_l; [assert (H0 := one_le_pow_u prec (S N)); lra|].
        apply pow_u_mono. lia. }
      apply Rplus_le_compat.
      + apply Rmult_le_compat_r; [apply rsum_nonneg; intros; apply Rmult_le_pos; apply Rabs_pos|lra].
      + apply Rmult_le_compat_r.
        * apply rsum_nonneg; intros k _. assert (H0 := key_uflow_nonneg j (i - j) k).
          assert (H1 := Rabs_pos (c i k)). nra.
        * apply Rmult_le_compat_l; lra.
    - unfold Rminus. rewrite Rplus_opp_r, Rabs_R0.
      assert (0 <= (rho - 1) * Rabs (gated_score i j)) by (apply Rmult_le_pos; [lra|apply Rabs_pos]).
      lra. }
  unfold gated_output. rewrite dot_comm.
  assert (HDn : forall j, 0 <= (if Nat.leb j i then D j else 0)).
  { intros j. destruct (Nat.leb j i); [apply HD|lra]. }
  assert (Hdot := dot_error emin prec choice (S i) x (gated_score i) h H' D rho Hrho
                    (fun j => is_float_dot emin prec choice N _ _) Hh' HD Herr).
  rewrite output_alpha.
  replace (rsum (S i) (fun j => alpha i j * x j)) with (rsum (S i) (fun n => x n * h n))
    by (apply rsum_ext; intros j Hj; unfold h; destruct (Nat.leb_spec j i) as [Hji|Hji]; [ring|lia]).
  eapply Rle_trans; [exact Hdot|].
  replace (rsum (S i) (fun n => Rabs (x n) * H' n)) with (rsum (S i) (fun n => Rabs (x n) * H n))
    by (apply rsum_ext; intros j Hj; unfold H'; destruct (Nat.leb_spec j i) as [Hji|Hji]; [ring|lia]).
  unfold output_bound_exact. cbv zeta. change (3 * L + N + 4)%nat with m.
  set (lam := (1 + u) ^ S (S i) * rho) in *.
  assert (Hlam : lam <= 1 + gamma_exact m u).
  { unfold lam, rho. rewrite <- !pow_add.
    eapply Rle_trans; [apply pow_le_gamma; [exact Hu|]|].
    - eapply Rle_lt_trans; [|exact Hmu]. apply Rmult_le_compat_r; [exact Hu|].
      apply le_INR. unfold m; lia.
    - apply Rplus_le_compat_l. apply gamma_mono; [unfold m; lia|exact Hu|exact Hmu]. }
  assert (Hl1 : 1 <= lam) by (unfold lam; assert (H0 := one_le_pow_u prec (S (S i))); nra).
  assert (Hg := gamma_nonneg m u Hu Hmu).
  assert (Hmag : rsum (S i) (fun n => Rabs (x n) * H n) = magnitude i).
  { rewrite magnitude_alpha. apply rsum_ext; intros j Hj. unfold H.
    destruct (Nat.leb_spec j i) as [Hji|Hji]; [|lia]. f_equal. apply rsum_ext; intros n _.
    rewrite key_prod_gprod. replace (j + (i - j))%nat with i by lia.
    rewrite Rabs_mult, gprod_abs. ring. }
  rewrite Hmag.
  assert (Hmag0 : 0 <= magnitude i) by (rewrite <- Hmag; apply rsum_nonneg; intros;
                                         apply Rmult_le_pos; [apply Rabs_pos|apply HH]).
  set (Wsum := rsum N (fun n => hat (c i n) * p_hat (S i) n * s_hat (S i) n)).
  set (Ph := fun n => p_hat (S i) n).
  set (T := fun j n => hat (c i n) * Ph n * hat (bbar j n)).
  assert (HT : forall j n, 1 <= T j n).
  { intros j n. unfold T, Ph. assert (H1 := hat_ge_1 (c i n)).
    assert (H2 := p_hat_ge_1 abar (S i) n). assert (H3 := hat_ge_1 (bbar j n)).
    assert (1 <= hat (c i n) * p_hat (S i) n) by nra. nra. }
  assert (HW : rsum (S i) (fun n => Rabs (x n) * D n + 1) <= Wsum * INR (i + 3)).
  { assert (Hrow : forall j, (j < S i)%nat ->
              Rabs (x j) * D j + 1 <= INR (i + 2) * (hat (x j) * rsum N (fun n => T j n))).
    { intros j Hj. unfold D. destruct (Nat.leb_spec j i) as [Hji|Hji]; [|lia].
      assert (Hx := hat_ge_abs (x j)). assert (Hx1 := hat_ge_1 (x j)).
      assert (Hxa := Rabs_pos (x j)).
      assert (Hterm : forall n, Rabs (c i n) * key_uflow j (i - j) n + 1 <= INR (i + 1) * T j n).
      { intros n. assert (Hc := hat_ge_abs (c i n)). assert (Hc1 := hat_ge_1 (c i n)).
        assert (Hca := Rabs_pos (c i n)). assert (Hp := p_hat_ge_1 abar (S i) n).
        assert (Hb1 := hat_ge_1 (bbar j n)).
        assert (HV := key_uflow_le j (i - j) n). assert (HV0 := key_uflow_nonneg j (i - j) n).
        assert (Hq := key_qhat_le i j (i - j) n ltac:(lia)).
        assert (HVP : key_uflow j (i - j) n <= INR (i - j) * Ph n).
        { eapply Rle_trans; [exact HV|]. apply Rmult_le_compat_l; [apply pos_INR|exact Hq]. }
        assert (Hij : INR (i - j) + 1 <= INR (i + 1)) by (rewrite <- S_INR; apply le_INR; lia).
        assert (H1 : Rabs (c i n) * key_uflow j (i - j) n <= hat (c i n) * (INR (i - j) * Ph n))
          by (apply Rmult_le_compat; lra).
        assert (H2 : hat (c i n) * Ph n <= T j n)
          by (unfold T; assert (0 <= hat (c i n) * Ph n) by (unfold Ph; nra); nra).
        assert (H3 := HT j n). assert (Hi0 := pos_INR (i - j)).
        assert (H4 : INR (i - j) * (hat (c i n) * Ph n) <= INR (i - j) * T j n)
          by (apply Rmult_le_compat_l; lra).
        nra. }
      assert (Hsum : rsum N (fun n => Rabs (c i n) * key_uflow j (i - j) n + 1)
                     <= INR (i + 1) * rsum N (fun n => T j n)).
      { rewrite <- rsum_scal. apply rsum_le; intros n _. apply Hterm. }
      assert (Hs0 : 0 <= rsum N (fun n => T j n))
        by (apply rsum_nonneg; intros n _; assert (H0 := HT j n); lra).
      assert (Hone : 1 <= hat (x j) * rsum N (fun n => T j n)).
      { assert (H0 : T j 0%nat <= rsum N (fun n => T j n)).
        { apply (rsum_term_le N (fun n => T j n)); [|exact HN].
          intros n _. assert (H0 := HT j n). lra. }
        assert (H1 := HT j 0%nat). nra. }
      assert (HD0 : 0 <= rsum N (fun n => Rabs (c i n) * key_uflow j (i - j) n + 1)).
      { apply rsum_nonneg; intros k _. assert (H0 := key_uflow_nonneg j (i - j) k).
        assert (H1 := Rabs_pos (c i k)). nra. }
      assert (H5 : Rabs (x j) * rsum N (fun n => Rabs (c i n) * key_uflow j (i - j) n + 1)
                   <= hat (x j) * (INR (i + 1) * rsum N (fun n => T j n)))
        by (apply Rmult_le_compat; lra).
      replace (INR (i + 2)) with (INR (i + 1) + 1) by (rewrite <- S_INR; f_equal; lia).
      nra. }
    eapply Rle_trans; [apply rsum_le; exact Hrow|].
    rewrite rsum_scal.
    replace (rsum (S i) (fun j => hat (x j) * rsum N (fun n => T j n))) with Wsum.
    - rewrite Rmult_comm. apply Rmult_le_compat_l.
      + unfold Wsum. apply rsum_nonneg; intros n _.
        assert (H0 := s_hat_nonneg bbar x (S i) n). assert (H1 := hat_ge_1 (c i n)).
        assert (H2 := p_hat_ge_1 abar (S i) n). apply Rmult_le_pos; [nra|lra].
      + apply le_INR. lia.
    - unfold Wsum. symmetry.
      rewrite (rsum_ext (S i) _ (fun j => rsum N (fun n => hat (x j) * T j n)))
        by (intros; rewrite rsum_scal; reflexivity).
      rewrite rsum_swap. apply rsum_ext; intros n _.
      rewrite s_hat_unrolled, <- rsum_scal. apply rsum_ext; intros j _.
      unfold T, Ph. ring. }
  assert (HW0 : 0 <= rsum (S i) (fun n => Rabs (x n) * D n + 1)).
  { apply rsum_nonneg; intros k _. assert (H0 := HD k). assert (H1 := Rabs_pos (x k)). nra. }
  apply Rplus_le_compat.
  - apply Rmult_le_compat_r; [exact Hmag0|lra].
  - apply Rle_trans with (eta0 * ((1 + gamma_exact m u) * (Wsum * INR (i + 3)))).
    + rewrite Rmult_assoc. apply Rmult_le_compat_l; [lra|].
      apply Rmult_le_compat; lra.
    + unfold underflow_weight. fold Wsum. right; ring.
Qed.

End Gated.

Theorem gated_output_within_output_bound_binary64 choice L N abar bbar c x i :
  (forall t n, FloatModel.is_float (-1074) 53 (bbar t n)) -> (0 < N)%nat -> (i < L)%nat ->
  INR (3 * L + N + 4) * unit_roundoff 53 < 1 ->
  Rabs (gated_output (-1074) 53 choice N abar bbar c x i - output N abar bbar c x i)
  <= output_bound_exact (-1074) 53 L N abar bbar c x i.
Proof. intros. apply (@gated_output_within_output_bound (-1074) 53 prec53); assumption. Qed.

Theorem gated_output_within_output_bound_binary32 choice L N abar bbar c x i :
  (forall t n, FloatModel.is_float (-149) 24 (bbar t n)) -> (0 < N)%nat -> (i < L)%nat ->
  INR (3 * L + N + 4) * unit_roundoff 24 < 1 ->
  Rabs (gated_output (-149) 24 choice N abar bbar c x i - output N abar bbar c x i)
  <= output_bound_exact (-149) 24 L N abar bbar c x i.
Proof. intros. apply (@gated_output_within_output_bound (-149) 24 prec24); assumption. Qed.
