(* The forward error bound of the float alpha~ x view (Rust: `ssm::attention_matrix`
   row by row, `ssm::hidden_attention_row`, then `Matrix::mul_vec`), within the same
   `output_bound_exact` as the scan, for every FLT format (binary64, binary32).

   Row i of alpha~ in the Rust evaluation order:
     p[n] <- C[i][n];  for j = i down to 0:
       alpha[i][j] <- dot(p, Bbar[j]);  p[n] <- fl(p[n] * Abar[j][n])  (j > 0)
   and (alpha~ x)_i = dot(alpha[i], x) over all L columns (zeros above the diagonal,
   which add nothing: fl(0 * x) = 0 and fl(s + 0) = s for a float s).

   Along the way: T1 over the reals (the scan unrolls into alpha~ x, [state_unrolled],
   [output_alpha]) and the entry bound
     |fl(alpha_ij) - alpha_ij| <= ((1+u)^{i-j+N+1} - 1) M_ij + eta0 (1+u)^{i-j+N+1} D_ij
   ([hidden_attention_entry_error]), the relative part of (F1) in src/fast/mod.rs. *)

From Coq Require Import Reals Lra Lia.
From Flocq Require Import Core.
From HiddenAttention Require Import RealSum Gamma FloatModel ScanBound.

Open Scope R_scope.

Lemma rsum_swap A B (f : nat -> nat -> R) :
  rsum A (fun j => rsum B (fun n => f j n)) = rsum B (fun n => rsum A (fun j => f j n)).
Proof.
  induction A; simpl.
  - rewrite rsum_const. ring.
  - rewrite IHA, <- rsum_plus. reflexivity.
Qed.

(** ** Products prod_{k=j+1}^{i} a_k and T1 over the reals *)

Fixpoint gprod (a : nat -> R) (i j : nat) : R :=
  match i with
  | O => 1
  | S i' => if Nat.leb i j then 1 else gprod a i' j * a i
  end.

Lemma gprod_le a i j : (i <= j)%nat -> gprod a i j = 1.
Proof.
  destruct i; [reflexivity|]. intros H.
  change (gprod a (S i) j) with (if Nat.leb (S i) j then 1 else gprod a i j * a (S i)).
  destruct (Nat.leb_spec (S i) j); [reflexivity|lia].
Qed.

Lemma gprod_S a i j : (j <= i)%nat -> gprod a (S i) j = gprod a i j * a (S i).
Proof.
  intros H.
  change (gprod a (S i) j) with (if Nat.leb (S i) j then 1 else gprod a i j * a (S i)).
  destruct (Nat.leb_spec (S i) j); [lia|reflexivity].
Qed.

(** prod_{k=j}^{i} = a_j prod_{k=j+1}^{i} for 0 < j <= i. *)
Lemma gprod_left a i j : (j < i)%nat -> gprod a i j = a (S j) * gprod a i (S j).
Proof.
  induction i as [|i IH]; intros H; [lia|].
  rewrite gprod_S by lia.
  destruct (Nat.eq_dec j i) as [->|Hne].
  - rewrite gprod_le by lia. rewrite gprod_le by lia. ring.
  - rewrite IH by lia. rewrite gprod_S by lia. ring.
Qed.

Lemma gprod_abs a i j : Rabs (gprod a i j) = gprod (fun k => Rabs (a k)) i j.
Proof.
  induction i; [apply Rabs_R1|].
  change (gprod a (S i) j) with (if Nat.leb (S i) j then 1 else gprod a i j * a (S i)).
  change (gprod (fun k => Rabs (a k)) (S i) j)
    with (if Nat.leb (S i) j then 1 else gprod (fun k => Rabs (a k)) i j * Rabs (a (S i))).
  destruct (Nat.leb (S i) j); [apply Rabs_R1|]. rewrite Rabs_mult, IHi. reflexivity.
Qed.

(** A recurrence r_{t+1} = r_t a_t + g_t from r_0 = 0 unrolls:
    r_{i+1} = sum_{j<=i} (prod_{k=j+1}^{i} a_k) g_j. *)
Lemma unroll (r a g : nat -> R) :
  r O = 0 -> (forall t, r (S t) = r t * a t + g t) ->
  forall i, r (S i) = rsum (S i) (fun j => gprod a i j * g j).
Proof.
  intros H0 HS i. induction i as [|i IH].
  - rewrite HS, H0. simpl. ring.
  - rewrite HS, IH.
    change (rsum (S (S i)) (fun j => gprod a (S i) j * g j))
      with (rsum (S i) (fun j => gprod a (S i) j * g j) + gprod a (S i) (S i) * g (S i)).
    rewrite (gprod_le a (S i) (S i)) by lia.
    rewrite (rsum_ext (S i) (fun j => gprod a (S i) j * g j)
               (fun j => a (S i) * (gprod a i j * g j)))
      by (intros j Hj; rewrite gprod_S by lia; ring).
    rewrite rsum_scal. ring.
Qed.

Section Alpha.

Variables emin prec : Z.
Context { prec_gt_0_ : Prec_gt_0 prec }.
Variable choice : Z -> bool.

Local Notation u := (unit_roundoff prec).
Local Notation eta0 := (min_subnormal emin).
Local Notation fmul := (fmul emin prec choice).
Local Notation fadd := (fadd emin prec choice).
Local Notation is_float := (is_float emin prec).
Local Notation dot := (dot emin prec choice).

Variables (L N : nat) (abar bbar c : nat -> nat -> R) (x : nat -> R).

Local Notation state := (state abar bbar x).
Local Notation output := (output N abar bbar c x).
Local Notation magnitude := (magnitude N abar bbar c x).
Local Notation abs_state := (abs_state abar bbar x).
Local Notation p_hat := (p_hat abar).
Local Notation s_hat := (s_hat bbar x).

(** The exact alpha~_ij = sum_n C_in (prod_{k=j+1}^{i} Abar_kn) Bbar_jn. *)
Definition alpha (i j : nat) : R :=
  rsum N (fun n => c i n * gprod (fun k => abar k n) i j * bbar j n).

(** T1 over the reals: the scan's output is alpha~ x. *)
Theorem output_alpha i : output i = rsum (S i) (fun j => alpha i j * x j).
Proof.
  unfold output, alpha.
  transitivity (rsum N (fun n => rsum (S i) (fun j =>
                  c i n * gprod (fun k => abar k n) i j * bbar j n * x j))).
  - apply rsum_ext; intros n _.
    rewrite (unroll (fun t => state t n) (fun k => abar k n) (fun k => bbar k n * x k))
      by reflexivity.
    rewrite <- rsum_scal. apply rsum_ext; intros j _. ring.
  - rewrite <- rsum_swap. apply rsum_ext; intros j _.
    rewrite Rmult_comm, <- rsum_scal. apply rsum_ext; intros n _. ring.
Qed.

(** The magnitude is the alpha~ x of the entrywise-absolute channel on |x|. *)
Lemma magnitude_alpha i :
  magnitude i = rsum (S i) (fun j => Rabs (x j)
    * rsum N (fun n => Rabs (bbar j n) * (Rabs (c i n) * gprod (fun k => Rabs (abar k n)) i j))).
Proof.
  unfold ScanBound.magnitude.
  transitivity (rsum N (fun n => rsum (S i) (fun j => Rabs (x j) * (Rabs (bbar j n)
                  * (Rabs (c i n) * gprod (fun k => Rabs (abar k n)) i j))))).
  - apply rsum_ext; intros n _.
    rewrite (unroll (fun t => abs_state t n) (fun k => Rabs (abar k n))
               (fun k => Rabs (bbar k n) * Rabs (x k))) by (reflexivity || (intros; simpl; ring)).
    rewrite <- rsum_scal. apply rsum_ext; intros j _. ring.
  - rewrite <- rsum_swap. apply rsum_ext; intros j _.
    rewrite <- rsum_scal. reflexivity.
Qed.

(** ** One row, in the Rust order *)

(** p after d multiplications (from C_i, by Abar_i, Abar_{i-1}, ...): exact and float. *)
Fixpoint row_prod (i d n : nat) : R :=
  match d with
  | O => c i n
  | S d' => row_prod i d' n * abar (i - d') n
  end.

Fixpoint row_prod_float (i d n : nat) : R :=
  match d with
  | O => c i n
  | S d' => fmul (row_prod_float i d' n) (abar (i - d') n)
  end.

(** Rust: `hidden_attention_row` (and `attention_matrix`): entry j <= i is
    dot(p, Bbar_j) with p = row_prod_float i (i - j); 0 above the diagonal. *)
Definition hidden_attention_row (i j : nat) : R :=
  if Nat.leb j i then dot N (fun n => row_prod_float i (i - j) n) (bbar j) else 0.

(** Rust: `attention_matrix(ch)?.mul_vec(x)`: dot(row_i, x) over all L columns. *)
Definition alpha_x (i : nat) : R := dot L (hidden_attention_row i) x.

Lemma row_prod_gprod i d n :
  (d <= i)%nat -> row_prod i d n = c i n * gprod (fun k => abar k n) i (i - d).
Proof.
  induction d as [|d IH]; intros H; simpl row_prod.
  - rewrite Nat.sub_0_r, gprod_le by lia. ring.
  - rewrite IH by lia. rewrite (gprod_left _ i (i - S d)) by lia.
    replace (S (i - S d)) with (i - d)%nat by lia. ring.
Qed.

(** The absolute errors collected by the running product: V_0 = 0,
    V_{d+1} = |Abar_{i-d}| V_d + 1. *)
Fixpoint row_uflow (i d n : nat) : R :=
  match d with
  | O => 0
  | S d' => Rabs (abar (i - d') n) * row_uflow i d' n + 1
  end.

Lemma row_uflow_nonneg i d n : 0 <= row_uflow i d n.
Proof. induction d; simpl; [lra|]. assert (H := Rabs_pos (abar (i - d) n)). nra. Qed.

Lemma row_prod_error i d n :
  Rabs (row_prod_float i d n - row_prod i d n)
  <= ((1 + u) ^ d - 1) * Rabs (row_prod i d n) + eta0 * (1 + u) ^ d * row_uflow i d n.
Proof.
  assert (Hu := unit_roundoff_nonneg prec). assert (He := min_subnormal_pos emin).
  induction d as [|d IH]; simpl row_prod_float; simpl row_prod; simpl row_uflow.
  - unfold Rminus. rewrite Rplus_opp_r, Rabs_R0. simpl. lra.
  - set (P := row_prod i d n) in *. set (pf := row_prod_float i d n) in *.
    set (a := abar (i - d) n). set (V := row_uflow i d n) in *.
    set (rho := (1 + u) ^ d) in *.
    assert (Hrho : 1 <= rho) by apply one_le_pow_u.
    assert (HV : 0 <= V) by apply row_uflow_nonneg.
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

Lemma dot_comm K a b : dot K a b = dot K b a.
Proof.
  induction K; simpl; [reflexivity|]. rewrite IHK, (fmul_comm emin prec choice). reflexivity.
Qed.

Lemma is_float_row_prod i d n : is_float (c i n) -> is_float (row_prod_float i d n).
Proof. destruct d; simpl; [tauto|intros; apply (is_float_fmul emin prec)]. Qed.

Lemma is_float_row i j : is_float (hidden_attention_row i j).
Proof.
  unfold hidden_attention_row. destruct (Nat.leb j i); [apply (is_float_dot emin prec)|apply is_float_0].
Qed.

(** The float entry against the exact alpha~_ij (j <= i). *)
Theorem hidden_attention_entry_error i j :
  (forall n, is_float (c i n)) -> (j <= i)%nat ->
  Rabs (hidden_attention_row i j - alpha i j)
  <= ((1 + u) ^ (S N) * (1 + u) ^ (i - j) - 1)
       * rsum N (fun n => Rabs (bbar j n) * Rabs (row_prod i (i - j) n))
     + eta0 * ((1 + u) ^ (S N) * (1 + u) ^ (i - j))
       * rsum N (fun n => Rabs (bbar j n) * row_uflow i (i - j) n + 1).
Proof.
  intros Hc Hji. unfold hidden_attention_row.
  destruct (Nat.leb_spec j i) as [_|]; [|lia].
  rewrite dot_comm.
  replace (alpha i j) with (rsum N (fun n => bbar j n * row_prod i (i - j) n)).
  - apply (dot_error emin prec choice N (bbar j) (fun n => row_prod_float i (i - j) n)
             (fun n => row_prod i (i - j) n) (fun n => Rabs (row_prod i (i - j) n))
             (fun n => row_uflow i (i - j) n)).
    + apply one_le_pow_u.
    + intros; apply is_float_row_prod, Hc.
    + intros; lra.
    + intros; apply row_uflow_nonneg.
    + intros n; apply row_prod_error.
  - unfold alpha. apply rsum_ext; intros n _. rewrite row_prod_gprod by lia.
    replace (i - (i - j))%nat with j by lia. ring.
Qed.

(** ** The zero tail above the diagonal adds nothing *)

Lemma fmul_0_l b : fmul 0 b = 0.
Proof.
  unfold FloatModel.fmul, rnd. rewrite Rmult_0_l. apply round_0. apply valid_rnd_N.
Qed.

Lemma fadd_0_r s : is_float s -> fadd s 0 = s.
Proof.
  intros H. unfold FloatModel.fadd, rnd. rewrite Rplus_0_r.
  apply round_generic; [apply valid_rnd_N|exact H].
Qed.

Lemma dot_zero_tail K m a b :
  (forall j, (K <= j)%nat -> a j = 0) -> dot (K + m) a b = dot K a b.
Proof.
  intros Ha. induction m as [|m IH]; [rewrite Nat.add_0_r; reflexivity|].
  rewrite Nat.add_succ_r. simpl dot. rewrite Ha by lia. rewrite fmul_0_l, fadd_0_r.
  - exact IH.
  - apply (is_float_dot emin prec).
Qed.

Lemma alpha_x_row i : (i < L)%nat -> alpha_x i = dot (S i) (hidden_attention_row i) x.
Proof.
  intros Hi. unfold alpha_x. replace L with (S i + (L - S i))%nat by lia.
  apply dot_zero_tail. intros j Hj. unfold hidden_attention_row.
  destruct (Nat.leb_spec j i); [lia|reflexivity].
Qed.

(** ** The underflow weight of a row *)

Fixpoint qhat (i d n : nat) : R :=
  match d with
  | O => 1
  | S d' => qhat i d' n * hat (abar (i - d') n)
  end.

Lemma qhat_ge_1 i d n : 1 <= qhat i d n.
Proof. induction d; simpl; [lra|]. assert (H := hat_ge_1 (abar (i - d) n)). nra. Qed.

Lemma qhat_p_hat i d n : (d <= S i)%nat -> qhat i d n * p_hat (S i - d) n = p_hat (S i) n.
Proof.
  induction d as [|d IH]; intros H; simpl qhat.
  - rewrite Nat.sub_0_r. ring.
  - rewrite <- IH by lia. replace (S i - d)%nat with (S (i - d)) by lia.
    replace (S i - S d)%nat with (i - d)%nat by lia. simpl p_hat. ring.
Qed.

Lemma qhat_le i d n : (d <= S i)%nat -> qhat i d n <= p_hat (S i) n.
Proof.
  intros H. rewrite <- (qhat_p_hat i d n H).
  assert (H1 := qhat_ge_1 i d n). assert (H2 := p_hat_ge_1 abar (S i - d) n). nra.
Qed.

Lemma row_uflow_le i d n : row_uflow i d n <= INR d * qhat i d n.
Proof.
  induction d as [|d IH]; simpl row_uflow; simpl qhat; [simpl; lra|].
  rewrite S_INR.
  assert (Ha := hat_ge_abs (abar (i - d) n)). assert (Ha1 := hat_ge_1 (abar (i - d) n)).
  assert (Hq := qhat_ge_1 i d n). assert (HV := row_uflow_nonneg i d n).
  assert (Hd := pos_INR d). assert (Haa := Rabs_pos (abar (i - d) n)).
  assert (H1 : Rabs (abar (i - d) n) * row_uflow i d n
               <= hat (abar (i - d) n) * (INR d * qhat i d n)) by (apply Rmult_le_compat; lra).
  assert (H2 : 1 <= qhat i d n * hat (abar (i - d) n)) by nra.
  nra.
Qed.

Lemma s_hat_unrolled i n : s_hat i n = rsum i (fun j => hat (bbar j n) * hat (x j)).
Proof. induction i; simpl; [reflexivity|]. rewrite IHi. reflexivity. Qed.

(** ** The bound of `output_bound_exact` for alpha~ x *)

Theorem alpha_x_within_output_bound i :
  (forall t n, is_float (c t n)) -> (0 < N)%nat -> (i < L)%nat ->
  INR (3 * L + N + 4) * u < 1 ->
  Rabs (alpha_x i - output i) <= output_bound_exact emin prec L N abar bbar c x i.
Proof.
  intros Hc HN Hi Hmu.
  assert (Hu := unit_roundoff_nonneg prec).
  assert (He := min_subnormal_pos emin).
  set (m := (3 * L + N + 4)%nat) in *.
  set (rho := (1 + u) ^ (S N) * (1 + u) ^ i).
  assert (Hrho : 1 <= rho)
    by (unfold rho; assert (H1 := one_le_pow_u prec (S N)); assert (H2 := one_le_pow_u prec i); nra).
  set (H := fun j => if Nat.leb j i
                     then rsum N (fun n => Rabs (bbar j n) * Rabs (row_prod i (i - j) n)) else 0).
  set (D := fun j => if Nat.leb j i
                     then rsum N (fun n => Rabs (bbar j n) * row_uflow i (i - j) n + 1) else 0).
  set (h := fun j => if Nat.leb j i then alpha i j else 0).
  assert (HH : forall j, 0 <= H j).
  { intros j. unfold H. destruct (Nat.leb j i); [|lra]. apply rsum_nonneg; intros.
    apply Rmult_le_pos; apply Rabs_pos. }
  assert (HD : forall j, 0 <= D j).
  { intros j. unfold D. destruct (Nat.leb j i); [|lra]. apply rsum_nonneg; intros k _.
    assert (H0 := row_uflow_nonneg i (i - j) k). assert (H1 := Rabs_pos (bbar j k)). nra. }
  assert (Hh : forall j, Rabs (h j) <= H j).
  { intros j. unfold h, H. destruct (Nat.leb_spec j i); [|rewrite Rabs_R0; lra].
    unfold alpha. eapply Rle_trans; [apply rsum_abs|]. apply rsum_le; intros n _.
    rewrite row_prod_gprod by lia. replace (i - (i - j))%nat with j by lia.
    rewrite !Rabs_mult. right; ring. }
  assert (Herr : forall j, Rabs (hidden_attention_row i j - h j) <= (rho - 1) * H j + eta0 * rho * D j).
  { intros j. unfold h, H, D. destruct (Nat.leb_spec j i) as [Hj|Hj].
    - eapply Rle_trans; [apply hidden_attention_entry_error; [intros; apply Hc|exact Hj]|].
      assert (Hp : (1 + u) ^ S N * (1 + u) ^ (i - j) <= rho).
      { unfold rho. apply Rmult_le_compat_l; [assert (H0 := one_le_pow_u prec (S N)); lra|].
        apply pow_u_mono. lia. }
      apply Rplus_le_compat.
      + apply Rmult_le_compat_r; [apply rsum_nonneg; intros; apply Rmult_le_pos; apply Rabs_pos|lra].
      + apply Rmult_le_compat_r.
        * apply rsum_nonneg; intros k _. assert (H0 := row_uflow_nonneg i (i - j) k).
          assert (H1 := Rabs_pos (bbar j k)). nra.
        * apply Rmult_le_compat_l; lra.
    - unfold hidden_attention_row. destruct (Nat.leb_spec j i) as [Hji|Hji]; [lia|].
      unfold Rminus. rewrite Rplus_opp_r, Rabs_R0. lra. }
  rewrite alpha_x_row by exact Hi. rewrite dot_comm.
  assert (Hdot := dot_error emin prec choice (S i) x (hidden_attention_row i) h H D rho Hrho
                    (is_float_row i) Hh HD Herr).
  rewrite output_alpha.
  replace (rsum (S i) (fun j => alpha i j * x j)) with (rsum (S i) (fun n => x n * h n))
    by (apply rsum_ext; intros j Hj; unfold h; destruct (Nat.leb_spec j i) as [Hji|Hji]; [ring|lia]).
  eapply Rle_trans; [exact Hdot|].
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
    rewrite row_prod_gprod by lia. replace (i - (i - j))%nat with j by lia.
    rewrite Rabs_mult, gprod_abs. reflexivity. }
  rewrite Hmag.
  assert (Hmag0 : 0 <= magnitude i) by (rewrite <- Hmag; apply rsum_nonneg; intros;
                                         apply Rmult_le_pos; [apply Rabs_pos|apply HH]).
  set (Wsum := rsum N (fun n => hat (c i n) * p_hat (S i) n * s_hat (S i) n)).
  assert (HW : rsum (S i) (fun n => Rabs (x n) * D n + 1) <= Wsum * INR (i + 3)).
  { set (Ph := fun n => p_hat (S i) n).
    assert (Hrow : forall j, (j < S i)%nat ->
              Rabs (x j) * D j + 1
              <= INR (i + 2) * rsum N (fun n => hat (x j) * hat (bbar j n) * Ph n)).
    { intros j Hj. unfold D. destruct (Nat.leb_spec j i) as [Hji|Hji]; [|lia].
      assert (Hx := hat_ge_abs (x j)). assert (Hx1 := hat_ge_1 (x j)).
      assert (Hxa := Rabs_pos (x j)).
      assert (Hterm : forall n, Rabs (bbar j n) * row_uflow i (i - j) n + 1
                                <= INR (i + 1) * (hat (bbar j n) * Ph n)).
      { intros n. assert (Hb := hat_ge_abs (bbar j n)). assert (Hb1 := hat_ge_1 (bbar j n)).
        assert (Hba := Rabs_pos (bbar j n)).
        assert (Hp := p_hat_ge_1 abar (S i) n).
        assert (HV := row_uflow_le i (i - j) n). assert (HV0 := row_uflow_nonneg i (i - j) n).
        assert (Hq := qhat_le i (i - j) n ltac:(lia)).
        assert (HVP : row_uflow i (i - j) n <= INR (i - j) * Ph n).
        { eapply Rle_trans; [exact HV|]. apply Rmult_le_compat_l; [apply pos_INR|exact Hq]. }
        assert (Hij : INR (i - j) + 1 <= INR (i + 1))
          by (rewrite <- S_INR; apply le_INR; lia).
        assert (H1 : Rabs (bbar j n) * row_uflow i (i - j) n
                     <= hat (bbar j n) * (INR (i - j) * Ph n)) by (apply Rmult_le_compat; lra).
        assert (H2 : 1 <= hat (bbar j n) * Ph n) by (unfold Ph in *; nra).
        assert (H3 : 0 <= hat (bbar j n) * Ph n) by lra.
        assert (H4 : (INR (i - j) + 1) * (hat (bbar j n) * Ph n)
                     <= INR (i + 1) * (hat (bbar j n) * Ph n)) by (apply Rmult_le_compat_r; lra).
        nra. }
      assert (Hsum : rsum N (fun n => Rabs (bbar j n) * row_uflow i (i - j) n + 1)
                     <= INR (i + 1) * rsum N (fun n => hat (bbar j n) * Ph n)).
      { rewrite <- rsum_scal. apply rsum_le; intros n _. apply Hterm. }
      assert (Hs0 : 0 <= rsum N (fun n => hat (bbar j n) * Ph n)).
      { apply rsum_nonneg; intros n _. assert (H0 := hat_ge_1 (bbar j n)).
        assert (H1 := p_hat_ge_1 abar (S i) n). unfold Ph. nra. }
      assert (Hone : 1 <= hat (x j) * rsum N (fun n => hat (bbar j n) * Ph n)).
      { assert (H0 : hat (bbar j 0) * Ph 0%nat <= rsum N (fun n => hat (bbar j n) * Ph n)).
        { apply (rsum_term_le N (fun n => hat (bbar j n) * Ph n)); [|exact HN].
          intros n _. assert (H0 := hat_ge_1 (bbar j n)).
          assert (H1 := p_hat_ge_1 abar (S i) n). unfold Ph. nra. }
        assert (H1 := hat_ge_1 (bbar j 0)). assert (H2 := p_hat_ge_1 abar (S i) 0).
        unfold Ph in *. nra. }
      assert (HD0 : 0 <= rsum N (fun n => Rabs (bbar j n) * row_uflow i (i - j) n + 1)).
      { apply rsum_nonneg; intros k _. assert (H0 := row_uflow_nonneg i (i - j) k).
        assert (H1 := Rabs_pos (bbar j k)). nra. }
      assert (H5 : Rabs (x j) * rsum N (fun n => Rabs (bbar j n) * row_uflow i (i - j) n + 1)
                   <= hat (x j) * (INR (i + 1) * rsum N (fun n => hat (bbar j n) * Ph n)))
        by (apply Rmult_le_compat; lra).
      replace (rsum N (fun n => hat (x j) * hat (bbar j n) * Ph n))
        with (hat (x j) * rsum N (fun n => hat (bbar j n) * Ph n))
        by (rewrite <- rsum_scal; apply rsum_ext; intros; ring).
      replace (INR (i + 2)) with (INR (i + 1) + 1) by (rewrite <- S_INR; f_equal; lia).
      nra. }
    eapply Rle_trans; [apply rsum_le; exact Hrow|].
    rewrite rsum_scal, rsum_swap.
    unfold Wsum. rewrite Rmult_comm.
    apply Rmult_le_compat.
    - apply rsum_nonneg; intros n _. apply rsum_nonneg; intros j _.
      assert (H0 := hat_ge_1 (bbar j n)). assert (H1 := p_hat_ge_1 abar (S i) n).
      assert (H2 := hat_ge_1 (x j)). unfold Ph.
      apply Rmult_le_pos; [apply Rmult_le_pos|]; lra.
    - apply pos_INR.
    - apply rsum_le; intros n _. rewrite s_hat_unrolled.
      replace (rsum (S i) (fun j => hat (x j) * hat (bbar j n) * Ph n))
        with (Ph n * rsum (S i) (fun j => hat (bbar j n) * hat (x j)))
        by (rewrite <- rsum_scal; apply rsum_ext; intros; ring).
      assert (H0 : 0 <= Ph n * rsum (S i) (fun j => hat (bbar j n) * hat (x j))).
      { apply Rmult_le_pos; [unfold Ph; assert (H1 := p_hat_ge_1 abar (S i) n); lra|].
        apply rsum_nonneg; intros j _. assert (H1 := hat_ge_1 (bbar j n)).
        assert (H2 := hat_ge_1 (x j)). nra. }
      assert (H1 := hat_ge_1 (c i n)). unfold Ph in *. nra.
    - apply le_INR. lia. }
  assert (HW0 : 0 <= rsum (S i) (fun n => Rabs (x n) * D n + 1)).
  { apply rsum_nonneg; intros k _. assert (H0 := HD k). assert (H1 := Rabs_pos (x k)). nra. }
  apply Rplus_le_compat.
  - apply Rmult_le_compat_r; [exact Hmag0|lra].
  - apply Rle_trans with (eta0 * ((1 + gamma_exact m u) * (Wsum * INR (i + 3)))).
    + rewrite Rmult_assoc. apply Rmult_le_compat_l; [lra|].
      apply Rmult_le_compat; lra.
    + unfold underflow_weight. fold Wsum. right; ring.
Qed.

End Alpha.

Theorem alpha_x_within_output_bound_binary64 choice L N abar bbar c x i :
  (forall t n, FloatModel.is_float (-1074) 53 (c t n)) -> (0 < N)%nat -> (i < L)%nat ->
  INR (3 * L + N + 4) * unit_roundoff 53 < 1 ->
  Rabs (alpha_x (-1074) 53 choice L N abar bbar c x i - output N abar bbar c x i)
  <= output_bound_exact (-1074) 53 L N abar bbar c x i.
Proof. intros. apply (@alpha_x_within_output_bound (-1074) 53 prec53); assumption. Qed.

Theorem alpha_x_within_output_bound_binary32 choice L N abar bbar c x i :
  (forall t n, FloatModel.is_float (-149) 24 (c t n)) -> (0 < N)%nat -> (i < L)%nat ->
  INR (3 * L + N + 4) * unit_roundoff 24 < 1 ->
  Rabs (alpha_x (-149) 24 choice L N abar bbar c x i - output N abar bbar c x i)
  <= output_bound_exact (-149) 24 L N abar bbar c x i.
Proof. intros. apply (@alpha_x_within_output_bound (-149) 24 prec24); assumption. Qed.
