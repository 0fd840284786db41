(* T7: the paper's softplus -> ReLU approximation of the hidden attention, with
   Mamba's (PyTorch's) softplus, which is the identity above the threshold 20.
   Rust: `construct::approximation` (`relu_gap`, `exact_attention`,
   `relu_approximation`, `relu_bound`, `exact_entry`), checked by `theorems::t7`.

   Over the reals:
   - the gap eps(z) = softplus(z) - ReLU(z) is 0 for z > 20 and ln(1 + e^-|z|),
     which lies in (0, ln 2], for z <= 20 ([relu_gap_spec], [relu_gap_pos],
     [relu_gap_le_ln2]); it is >= ln(1 + e^-20) only for -20 <= z <= 20
     ([relu_gap_ge]);
   - for A <= 0 every entry satisfies
       |alpha_ij - alphahat_ij|
         <= sum_n |C_in B_jn| (eps_j e^{A_n S} - ReLU(z_j) e^{A_n Shat} (e^{A_n E} - 1))
     with S, Shat, E the sums of softplus, ReLU and eps over k = j+1 .. i
     ([relu_bound_sound]), and the bound is 0 -- the entry exact -- when every
     z_k, j <= k <= i, is above 20 ([relu_bound_exact_entry]). *)

From Coq Require Import Reals Lra Lia.
From HiddenAttention Require Import RealSum.

Open Scope R_scope.

(** Rust: `SOFTPLUS_THRESHOLD`. *)
Definition SOFTPLUS_THRESHOLD : R := 20.

(** PyTorch's softplus (beta = 1): the identity above the threshold. *)
Definition softplus (z : R) : R :=
  if Rlt_dec SOFTPLUS_THRESHOLD z then z else ln (1 + exp z).

Definition relu (z : R) : R := Rmax 0 z.

(** Rust: `relu_gap`. *)
Definition relu_gap (z : R) : R :=
  if Rlt_dec SOFTPLUS_THRESHOLD z then 0 else ln (1 + exp (- Rabs z)).

Lemma ln_le x y : 0 < x -> x <= y -> ln x <= ln y.
Proof.
  intros Hx [H|H]; [left; apply ln_increasing; assumption|rewrite H; lra].
Qed.

Lemma relu_nonneg z : 0 <= relu z.
Proof. apply Rmax_l. Qed.

(** The gap is the difference softplus - ReLU. *)
Theorem relu_gap_spec z : relu_gap z = softplus z - relu z.
Proof.
  unfold relu_gap, softplus, relu, SOFTPLUS_THRESHOLD.
  destruct (Rlt_dec 20 z) as [H|H].
  - rewrite Rmax_right by lra. ring.
  - destruct (Rle_dec 0 z) as [Hz|Hz].
    + rewrite Rmax_right by lra. rewrite Rabs_right by lra.
      replace (1 + exp z) with ((1 + exp (- z)) * exp z)
        by (rewrite exp_Ropp; field; apply Rgt_not_eq, exp_pos).
      assert (H0 := exp_pos (- z)).
      rewrite ln_mult, ln_exp by (apply exp_pos || lra). ring.
    + rewrite Rmax_left by lra. rewrite Rabs_left by lra.
      rewrite Ropp_involutive. ring.
Qed.

(** Above the threshold softplus is the ReLU: eps = 0 (the approximation is exact). *)
Theorem relu_gap_zero z : SOFTPLUS_THRESHOLD < z -> relu_gap z = 0 /\ softplus z = relu z.
Proof.
  intros H. unfold relu_gap, softplus, relu, SOFTPLUS_THRESHOLD in *.
  destruct (Rlt_dec 20 z); [|lra]. split; [reflexivity|]. rewrite Rmax_right; lra.
Qed.

Lemma ln_1_plus_exp_pos x : 0 < ln (1 + exp x).
Proof.
  rewrite <- ln_1. apply ln_increasing; [lra|]. assert (H := exp_pos x). lra.
Qed.

(** At or below the threshold softplus and ReLU always differ: eps in (0, ln 2]. *)
Theorem relu_gap_pos z : z <= SOFTPLUS_THRESHOLD -> 0 < relu_gap z.
Proof.
  intros H. unfold relu_gap. destruct (Rlt_dec SOFTPLUS_THRESHOLD z); [lra|].
  apply ln_1_plus_exp_pos.
Qed.

Theorem relu_gap_le_ln2 z : relu_gap z <= ln 2.
Proof.
  unfold relu_gap. destruct (Rlt_dec SOFTPLUS_THRESHOLD z).
  - rewrite <- ln_1. left. apply ln_increasing; lra.
  - apply ln_le; [assert (H := exp_pos (- Rabs z)); lra|].
    assert (H : exp (- Rabs z) <= 1).
    { rewrite <- exp_0. destruct (Req_dec (Rabs z) 0) as [E|E].
      - rewrite E, Ropp_0. lra.
      - left. apply exp_increasing. assert (H0 := Rabs_pos z). lra. }
    lra.
Qed.

Lemma relu_gap_nonneg z : 0 <= relu_gap z.
Proof.
  unfold relu_gap. destruct (Rlt_dec SOFTPLUS_THRESHOLD z); [lra|].
  left; apply ln_1_plus_exp_pos.
Qed.

(** The lower bound ln(1 + e^-20) holds on [-20, 20] (below -20 the gap is
    smaller, though still positive). *)
Theorem relu_gap_ge z : - SOFTPLUS_THRESHOLD <= z <= SOFTPLUS_THRESHOLD ->
  ln (1 + exp (- SOFTPLUS_THRESHOLD)) <= relu_gap z.
Proof.
  intros H. unfold relu_gap. destruct (Rlt_dec SOFTPLUS_THRESHOLD z); [lra|].
  apply ln_le; [assert (H0 := exp_pos (- SOFTPLUS_THRESHOLD)); lra|].
  apply Rplus_le_compat_l.
  destruct (Req_dec (Rabs z) SOFTPLUS_THRESHOLD) as [E|E]; [rewrite E; lra|].
  left. apply exp_increasing. unfold SOFTPLUS_THRESHOLD in *.
  apply Ropp_lt_contravar. assert (Rabs z <= 20) by (apply Rabs_le; lra). lra.
Qed.

Lemma softplus_split z : softplus z = relu z + relu_gap z.
Proof. rewrite relu_gap_spec. ring. Qed.

(** ** The entries of the exact and approximated hidden attention *)

Fixpoint rprod (M : nat) (f : nat -> R) : R :=
  match M with
  | O => 1
  | S m => rprod m f * f m
  end.

Lemma rprod_exp M f : rprod M (fun m => exp (f m)) = exp (rsum M f).
Proof.
  induction M; simpl; [rewrite exp_0; reflexivity|]. rewrite IHM, exp_plus. reflexivity.
Qed.

Lemma rprod_exp_scal M f A : rprod M (fun m => exp (f m * A)) = exp (A * rsum M f).
Proof.
  induction M; simpl; [rewrite Rmult_0_r, exp_0; reflexivity|].
  rewrite IHM, <- exp_plus. f_equal. ring.
Qed.

Section Entries.

(** A Mamba channel before the softplus: z_t, A_n <= 0, B_{t,n}, C_{t,n}; N states. *)
Variables (N : nat) (z : nat -> R) (a : nat -> R) (b c : nat -> nat -> R).

(** sum_{k=j+1}^{i} f(z_k). *)
Definition step_sum (f : R -> R) (i j : nat) : R := rsum (i - j) (fun m => f (z (j + 1 + m))).

(** Rust: `exact_attention`: the hidden attention of the discretised channel,
    Abar_k = exp(Delta_k A), Bbar_j = Delta_j B_j, Delta = softplus(z):
    alpha_ij = sum_n C_in (prod_{k=j+1}^{i} exp(Delta_k A_n)) Delta_j B_jn. *)
Definition exact_attention (i j : nat) : R :=
  rsum N (fun n => c i n * rprod (i - j) (fun m => exp (softplus (z (j + 1 + m)) * a n))
                   * (softplus (z j) * b j n)).

(** Rust: `relu_approximation` (`weighted` with w = ReLU(z)):
    sum_n C_in B_jn ReLU(z_j) exp(A_n Shat_ij). *)
Definition relu_approximation (i j : nat) : R :=
  rsum N (fun n => c i n * b j n * relu (z j) * exp (a n * step_sum relu i j)).

(** Rust: `relu_bound`:
    sum_n |C_in B_jn| (eps_j e^{A_n S} - ReLU(z_j) e^{A_n Shat} (e^{A_n E} - 1)). *)
Definition relu_bound (i j : nat) : R :=
  rsum N (fun n => Rabs (c i n * b j n)
    * (relu_gap (z j) * exp (a n * step_sum softplus i j)
       - relu (z j) * exp (a n * step_sum relu i j)
         * (exp (a n * step_sum relu_gap i j) - 1))).

(** The exact entry in closed form: alpha_ij = sum_n C_in B_jn Delta_j e^{A_n S_ij}. *)
Lemma exact_attention_closed i j :
  exact_attention i j
  = rsum N (fun n => c i n * b j n * softplus (z j) * exp (a n * step_sum softplus i j)).
Proof.
  unfold exact_attention. apply rsum_ext; intros n _.
  rewrite rprod_exp_scal. unfold step_sum. ring.
Qed.

Lemma step_sum_split i j :
  step_sum softplus i j = step_sum relu i j + step_sum relu_gap i j.
Proof.
  unfold step_sum. rewrite <- rsum_plus. apply rsum_ext; intros m _. apply softplus_split.
Qed.

Lemma step_sum_nonneg f i j : (forall x, 0 <= f x) -> 0 <= step_sum f i j.
Proof. intros H. apply rsum_nonneg; intros; apply H. Qed.

(** One state: for A <= 0,
    |Delta_j e^{A S} - ReLU(z_j) e^{A Shat}|
      <= eps_j e^{A S} - ReLU(z_j) e^{A Shat} (e^{A E} - 1). *)
Lemma relu_term_bound (A S Sh E r e : R) :
  A <= 0 -> 0 <= E -> S = Sh + E -> 0 <= r -> 0 <= e ->
  Rabs ((r + e) * exp (A * S) - r * exp (A * Sh))
  <= e * exp (A * S) - r * exp (A * Sh) * (exp (A * E) - 1).
Proof.
  intros HA HE HS Hr He.
  assert (HeS : exp (A * S) = exp (A * Sh) * exp (A * E))
    by (rewrite HS, <- exp_plus; f_equal; ring).
  assert (Hle : exp (A * E) <= 1).
  { rewrite <- exp_0. destruct (Req_dec (A * E) 0) as [Z|Z]; [rewrite Z; lra|].
    left. apply exp_increasing. assert (A * E <= 0) by nra. lra. }
  assert (P1 := exp_pos (A * Sh)). assert (P2 := exp_pos (A * E)).
  replace ((r + e) * exp (A * S) - r * exp (A * Sh))
    with (e * exp (A * S) + r * exp (A * Sh) * (exp (A * E) - 1)) by (rewrite HeS; ring).
  eapply Rle_trans; [apply Rabs_triang|].
  rewrite Rabs_right by (rewrite HeS; apply Rle_ge, Rmult_le_pos; [lra|]; nra).
  rewrite Rabs_left1 by (assert (0 <= r * exp (A * Sh)) by nra; nra).
  lra.
Qed.

(** T7's bound (Rust: `relu_bound`), for A <= 0. *)
Theorem relu_bound_sound i j :
  (forall n, a n <= 0) ->
  Rabs (exact_attention i j - relu_approximation i j) <= relu_bound i j.
Proof.
  intros HA. rewrite exact_attention_closed. unfold relu_approximation, relu_bound.
  rewrite rsum_minus.
  eapply Rle_trans; [apply rsum_abs|]. apply rsum_le; intros n _.
  rewrite (softplus_split (z j)).
  match goal with |- Rabs ?l <= _ =>
    replace l with (c i n * b j n
            * ((relu (z j) + relu_gap (z j)) * exp (a n * step_sum softplus i j)
               - relu (z j) * exp (a n * step_sum relu i j))) by ring
  end.
  rewrite Rabs_mult. apply Rmult_le_compat_l; [apply Rabs_pos|].
  apply relu_term_bound; auto using relu_nonneg, relu_gap_nonneg.
  - apply step_sum_nonneg, relu_gap_nonneg.
  - apply step_sum_split.
Qed.

(** Rust: `exact_entry`: every z_k, j <= k <= i, above 20. Then the bound is 0 and
    the entry is exact. *)
Theorem relu_bound_exact_entry i j :
  (j <= i)%nat -> (forall k, (j <= k <= i)%nat -> SOFTPLUS_THRESHOLD < z k) ->
  relu_bound i j = 0 /\ exact_attention i j = relu_approximation i j.
Proof.
  intros Hji Hz.
  assert (Hgap : step_sum relu_gap i j = 0).
  { unfold step_sum. rewrite <- (Rmult_0_r (INR (i - j))), <- rsum_const.
    apply rsum_ext; intros m Hm. apply relu_gap_zero, Hz. lia. }
  assert (Hs : step_sum softplus i j = step_sum relu i j)
    by (rewrite step_sum_split, Hgap; ring).
  destruct (relu_gap_zero (z j) (Hz j ltac:(lia))) as [G1 G2].
  split.
  - unfold relu_bound. rewrite <- (Rmult_0_r (INR N)), <- rsum_const.
    apply rsum_ext; intros n _. rewrite G1, Hgap, Rmult_0_r, exp_0. ring.
  - rewrite exact_attention_closed. unfold relu_approximation.
    apply rsum_ext; intros n _. rewrite G2, Hs. reflexivity.
Qed.

(** ** The closed form (Rust: `relu_bound_closed`) *)

(** [z <= 20]: the steps whose gap is not 0. *)
Definition below (z : R) : R := if Rle_dec z SOFTPLUS_THRESHOLD then 1 else 0.

(** Rust: `relu_bound_closed`: with m_ij = #{k : j < k <= i, z_k <= 20},
    sum_n |C_in B_jn| (ln 2 [z_j <= 20] + ReLU(z_j) min(|A_n| m_ij ln 2, 1)). *)
Definition relu_bound_closed (i j : nat) : R :=
  rsum N (fun n => Rabs (c i n * b j n)
    * (ln 2 * below (z j) + relu (z j) * Rmin (Rabs (a n) * step_sum below i j * ln 2) 1)).

Lemma relu_gap_le_below x : relu_gap x <= ln 2 * below x.
Proof.
  unfold below, relu_gap. destruct (Rle_dec x SOFTPLUS_THRESHOLD) as [H|H].
  - destruct (Rlt_dec SOFTPLUS_THRESHOLD x) as [H'|H']; [lra|].
    rewrite Rmult_1_r. assert (Hl := relu_gap_le_ln2 x). unfold relu_gap in Hl.
    destruct (Rlt_dec SOFTPLUS_THRESHOLD x); [lra|exact Hl].
  - destruct (Rlt_dec SOFTPLUS_THRESHOLD x) as [H'|H']; [rewrite Rmult_0_r; lra|lra].
Qed.

Lemma exp_le_1 x : x <= 0 -> exp x <= 1.
Proof.
  intros H. rewrite <- exp_0. destruct (Req_dec x 0) as [->|Hx]; [lra|].
  left. apply exp_increasing. lra.
Qed.

(** 1 - e^{-x} <= min(x, 1) for x >= 0. *)
Lemma one_minus_exp_le_min x : 0 <= x -> 1 - exp (- x) <= Rmin x 1.
Proof.
  intros H. apply Rmin_glb.
  - destruct (Req_dec x 0) as [->|Hx]; [rewrite Ropp_0, exp_0; lra|].
    assert (1 + - x < exp (- x)) by (apply exp_ineq1; lra). lra.
  - assert (H0 := exp_pos (- x)). lra.
Qed.

(** The sharp bound is within the closed form (the check's second test). *)
Theorem relu_bound_le_closed i j :
  (forall n, a n <= 0) -> relu_bound i j <= relu_bound_closed i j.
Proof.
  intros HA. unfold relu_bound, relu_bound_closed. apply rsum_le; intros n _.
  apply Rmult_le_compat_l; [apply Rabs_pos|].
  assert (Han := HA n).
  set (S := step_sum softplus i j). set (Sh := step_sum relu i j).
  set (E := step_sum relu_gap i j).
  assert (HE : 0 <= E) by (apply step_sum_nonneg, relu_gap_nonneg).
  assert (HSh : 0 <= Sh) by (apply step_sum_nonneg, relu_nonneg).
  assert (HS : 0 <= S) by (unfold S; rewrite step_sum_split; fold Sh E; lra).
  assert (Hr := relu_nonneg (z j)). assert (He := relu_gap_nonneg (z j)).
  assert (H1 : relu_gap (z j) * exp (a n * S) <= ln 2 * below (z j)).
  { eapply Rle_trans; [|apply relu_gap_le_below].
    rewrite <- (Rmult_1_r (relu_gap (z j))) at 2. apply Rmult_le_compat_l; [lra|].
    apply exp_le_1. nra. }
  assert (HEb : E <= step_sum below i j * ln 2).
  { unfold E, step_sum. rewrite Rmult_comm, <- rsum_scal. apply rsum_le; intros k _.
    apply relu_gap_le_below. }
  assert (H2 : 1 - exp (a n * E) <= Rmin (Rabs (a n) * step_sum below i j * ln 2) 1).
  { replace (a n * E) with (- (Rabs (a n) * E)) by (rewrite Rabs_left1 by lra; ring).
    eapply Rle_trans; [apply one_minus_exp_le_min; apply Rmult_le_pos; [apply Rabs_pos|lra]|].
    apply Rle_min_compat_r. rewrite Rmult_assoc. apply Rmult_le_compat_l; [apply Rabs_pos|lra]. }
  assert (H3 : exp (a n * Sh) <= 1) by (apply exp_le_1; nra).
  assert (H4 := exp_pos (a n * Sh)).
  assert (H5 : 0 <= 1 - exp (a n * E)) by (assert (exp (a n * E) <= 1) by (apply exp_le_1; nra); lra).
  assert (H6 : relu (z j) * exp (a n * Sh) * (1 - exp (a n * E))
               <= relu (z j) * Rmin (Rabs (a n) * step_sum below i j * ln 2) 1).
  { rewrite Rmult_assoc. apply Rmult_le_compat_l; [lra|].
    eapply Rle_trans; [|exact H2]. rewrite <- (Rmult_1_l (1 - exp (a n * E))) at 2.
    apply Rmult_le_compat_r; lra. }
  lra.
Qed.

End Entries.
