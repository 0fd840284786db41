(* T3 under Mamba's parametrisation: the Delta -> 0 bound.
   Rust: `construct::function::linear_limit_bound` (and `LinearAttentionLayer::to_mamba`),
   checked by `theorems::t3::check_mamba_limit`.

   The S6 layer of `to_mamba` with step Delta and A = -a has, over the reals,
   Abar_k = exp(-Delta a) for every step, Bbar_j = k_j (W_B = W_K / Delta) and
   C_i = q_i, so its output is y^S6_{ic} = sum_{j<=i} sum_n q_in Abar^{i-j} k_jn v_jc,
   while linear attention gives y^lin_{ic} = sum_{j<=i} <q_i, k_j> v_jc.  Then
     |y^S6_{ic} - y^lin_{ic}| <= sum_{j<=i} (1 - e^{-Delta a (i-j)}) sum_n |q_in k_jn| |v_jc|
   ([linear_limit_bound_sound]) and, as 1 - e^{-x} <= x ([one_minus_exp_neg_le]),
   this is at most Delta a (L-1) sum_{j<=i} sum_n |q_in k_jn| |v_jc| for i < L
   ([linear_limit_bound_le]), which vanishes linearly as Delta -> 0. *)

From Coq Require Import Reals Lra Lia.
From HiddenAttention Require Import RealSum T7_Softplus.

Open Scope R_scope.

Lemma one_minus_exp_neg_nonneg x : 0 <= x -> 0 <= 1 - exp (- x).
Proof.
  intros H. destruct H as [H|H].
  - assert (exp (- x) < exp 0) by (apply exp_increasing; lra). rewrite exp_0 in *. lra.
  - rewrite <- H, Ropp_0, exp_0. lra.
Qed.

(** 1 - e^{-x} <= x, from e^y >= 1 + y. *)
Theorem one_minus_exp_neg_le x : 0 <= x -> 1 - exp (- x) <= x.
Proof.
  intros H. destruct (Req_dec x 0) as [Z|Z].
  - rewrite Z, Ropp_0, exp_0. lra.
  - assert (1 + - x < exp (- x)) by (apply exp_ineq1; lra). lra.
Qed.

Section Limit.

Variables (N : nat) (q k : nat -> nat -> R) (v : nat -> nat -> R) (delta a : R).

(** The S6 output over the reals: Abar = exp(Delta * (-a)) at every step. *)
Definition s6_output (i col : nat) : R :=
  rsum (S i) (fun j =>
    rsum N (fun n => q i n * rprod (i - j) (fun _ => exp (delta * - a)) * k j n) * v j col).

(** Causal linear attention. *)
Definition linear_output (i col : nat) : R :=
  rsum (S i) (fun j => rsum N (fun n => q i n * k j n) * v j col).

(** Rust: `linear_limit_bound`. *)
Definition linear_limit_bound (i col : nat) : R :=
  rsum (S i) (fun j =>
    (1 - exp (- (delta * a * INR (i - j)))) * rsum N (fun n => Rabs (q i n * k j n))
    * Rabs (v j col)).

Lemma rprod_const_exp m x : rprod m (fun _ => exp x) = exp (INR m * x).
Proof.
  induction m; simpl rprod; [rewrite Rmult_0_l, exp_0; reflexivity|].
  rewrite IHm, <- exp_plus, S_INR. f_equal. ring.
Qed.

(** T3 (Delta -> 0): the S6 layer is within [linear_limit_bound] of linear attention. *)
Theorem linear_limit_bound_sound i col :
  0 <= delta -> 0 <= a ->
  Rabs (s6_output i col - linear_output i col) <= linear_limit_bound i col.
Proof.
  intros Hd Ha. unfold s6_output, linear_output, linear_limit_bound.
  rewrite rsum_minus. eapply Rle_trans; [apply rsum_abs|]. apply rsum_le; intros j _.
  set (w := 1 - exp (- (delta * a * INR (i - j)))).
  assert (Hw : 0 <= w) by (apply one_minus_exp_neg_nonneg;
                           apply Rmult_le_pos; [nra|apply pos_INR]).
  rewrite <- Rmult_minus_distr_r, rsum_minus, Rabs_mult.
  apply Rmult_le_compat_r; [apply Rabs_pos|].
  eapply Rle_trans; [apply rsum_abs|]. rewrite <- rsum_scal. apply rsum_le; intros n _.
  rewrite rprod_const_exp.
  replace (q i n * exp (INR (i - j) * (delta * - a)) * k j n - q i n * k j n)
    with ((q i n * k j n) * - w)
    by (unfold w; replace (- (delta * a * INR (i - j))) with (INR (i - j) * (delta * - a))
          by ring; ring).
  rewrite Rabs_mult, Rabs_Ropp, (Rabs_right w) by lra. lra.
Qed.

(** The closed form: for i < L the bound is at most
    Delta a (L - 1) sum_{j<=i} sum_n |q_in k_jn| |v_jc| (-> 0 as Delta -> 0). *)
Theorem linear_limit_bound_le L i col :
  0 <= delta -> 0 <= a -> (i < L)%nat ->
  linear_limit_bound i col
  <= delta * a * INR (L - 1)
     * rsum (S i) (fun j => rsum N (fun n => Rabs (q i n * k j n)) * Rabs (v j col)).
Proof.
  intros Hd Ha Hi. unfold linear_limit_bound. rewrite <- rsum_scal.
  apply rsum_le; intros j Hj.
  assert (Hqk : 0 <= rsum N (fun n => Rabs (q i n * k j n)) * Rabs (v j col))
    by (apply Rmult_le_pos; [apply rsum_nonneg; intros; apply Rabs_pos|apply Rabs_pos]).
  rewrite Rmult_assoc. apply Rmult_le_compat_r; [exact Hqk|].
  eapply Rle_trans; [apply one_minus_exp_neg_le; apply Rmult_le_pos; [nra|apply pos_INR]|].
  apply Rmult_le_compat_l; [nra|]. apply le_INR. lia.
Qed.

(** ** The closed form (Rust: `linear_limit_bound_closed`) *)

(** The Euclidean norm of (f 0, ..., f (K-1)) and max_{t<K} f t (0 when K = 0), as the
    Rust code computes them (`fold(0.0, f64::max)`). *)
Definition norm2 (K : nat) (f : nat -> R) : R := sqrt (rsum K (fun n => f n * f n)).

Fixpoint rmax (K : nat) (f : nat -> R) : R :=
  match K with
  | O => 0
  | S k => Rmax (rmax k f) (f k)
  end.

Lemma rmax_ge K f t : (t < K)%nat -> f t <= rmax K f.
Proof.
  induction K as [|K IH]; intros H; [lia|]. simpl.
  destruct (Nat.eq_dec t K) as [->|Hne]; [apply Rmax_r|].
  eapply Rle_trans; [apply IH; lia|apply Rmax_l].
Qed.

Lemma sum_squares_zero K f : rsum K (fun n => f n * f n) = 0 -> forall n, (n < K)%nat -> f n = 0.
Proof.
  intros H n Hn.
  assert (Hle : f n * f n <= rsum K (fun n => f n * f n))
    by (apply (rsum_term_le K (fun n => f n * f n)); [intros; nra|exact Hn]).
  nra.
Qed.

(** Cauchy-Schwarz: sum_n |f_n g_n| <= ||f|| ||g||. *)
Theorem cauchy_schwarz K f g : rsum K (fun n => Rabs (f n * g n)) <= norm2 K f * norm2 K g.
Proof.
  set (A := rsum K (fun n => f n * f n)). set (B := rsum K (fun n => g n * g n)).
  assert (HA : 0 <= A) by (apply rsum_nonneg; intros; nra).
  assert (HB : 0 <= B) by (apply rsum_nonneg; intros; nra).
  unfold norm2. fold A B.
  destruct (Req_dec A 0) as [A0|A0].
  - rewrite (rsum_ext K _ (fun _ => 0)).
    + rewrite rsum_const, Rmult_0_r. apply Rmult_le_pos; apply sqrt_pos.
    + intros n Hn. rewrite (sum_squares_zero K f A0 n Hn), Rmult_0_l, Rabs_R0. reflexivity.
  - destruct (Req_dec B 0) as [B0|B0].
    + rewrite (rsum_ext K _ (fun _ => 0)).
      * rewrite rsum_const, Rmult_0_r. apply Rmult_le_pos; apply sqrt_pos.
      * intros n Hn. rewrite (sum_squares_zero K g B0 n Hn), Rmult_0_r, Rabs_R0. reflexivity.
    + assert (HsA : 0 < sqrt A) by (apply sqrt_lt_R0; lra).
      assert (HsB : 0 < sqrt B) by (apply sqrt_lt_R0; lra).
      set (s := sqrt B / sqrt A).
      assert (Hs : 0 < s) by (unfold s; apply Rdiv_lt_0_compat; lra).
      assert (Hterm : forall n, Rabs (f n * g n) <= (s * (f n * f n) + / s * (g n * g n)) / 2).
      { intros n. rewrite Rabs_mult.
        assert (H0 := Rle_0_sqr (s * Rabs (f n) - Rabs (g n))). unfold Rsqr in H0.
        assert (Hf2 : Rabs (f n) * Rabs (f n) = f n * f n)
          by (rewrite <- Rabs_mult; apply Rabs_right; nra).
        assert (Hg2 : Rabs (g n) * Rabs (g n) = g n * g n)
          by (rewrite <- Rabs_mult; apply Rabs_right; nra).
        apply (Rmult_le_reg_l (2 * s)); [lra|].
        replace (2 * s * ((s * (f n * f n) + / s * (g n * g n)) / 2))
          with (s * s * (f n * f n) + g n * g n) by (field; lra).
        rewrite <- Hf2, <- Hg2. nra. }
      eapply Rle_trans; [apply rsum_le; intros n _; apply Hterm|].
      replace (rsum K (fun n => (s * (f n * f n) + / s * (g n * g n)) / 2))
        with ((s * A + / s * B) / 2).
      * assert (EA : A = sqrt A * sqrt A) by (symmetry; apply sqrt_sqrt; lra).
        assert (EB : B = sqrt B * sqrt B) by (symmetry; apply sqrt_sqrt; lra).
        unfold s. set (x := sqrt A) in *. set (y := sqrt B) in *.
        right. rewrite EA, EB. field. lra.
      * unfold A, B. rewrite <- (rsum_scal K s), <- (rsum_scal K (/ s)), <- rsum_plus.
        unfold Rdiv. rewrite Rmult_comm, <- rsum_scal. apply rsum_ext; intros; ring.
Qed.

(** Rust: `linear_limit_bound_closed` (per value coordinate col):
    Delta a (L - 1) max_i ||q_i|| max_j ||k_j|| ||v_{.,col}||_1. *)
Definition linear_limit_bound_closed (L col : nat) : R :=
  delta * a * INR (L - 1) * rmax L (fun t => norm2 N (q t)) * rmax L (fun t => norm2 N (k t))
  * rsum L (fun j => Rabs (v j col)).

(** The middle bound is within the closed form, for every output i < L. *)
Theorem linear_limit_bound_le_closed L i col :
  0 <= delta -> 0 <= a -> (i < L)%nat ->
  linear_limit_bound i col <= linear_limit_bound_closed L col.
Proof.
  intros Hd Ha Hi.
  eapply Rle_trans; [apply (linear_limit_bound_le L i col Hd Ha Hi)|].
  set (Qn := rmax L (fun t => norm2 N (q t))). set (Kn := rmax L (fun t => norm2 N (k t))).
  assert (HQ : norm2 N (q i) <= Qn) by (apply (rmax_ge L (fun t => norm2 N (q t))); exact Hi).
  assert (HQ0 : 0 <= Qn) by (eapply Rle_trans; [apply sqrt_pos|exact HQ]).
  assert (HK0 : 0 <= Kn).
  { eapply Rle_trans; [apply sqrt_pos|]. apply (rmax_ge L (fun t => norm2 N (k t)) 0). lia. }
  assert (Hc : 0 <= delta * a * INR (L - 1)) by (apply Rmult_le_pos; [nra|apply pos_INR]).
  unfold linear_limit_bound_closed. fold Qn Kn.
  apply Rle_trans with (delta * a * INR (L - 1) * rsum L (fun j => Qn * Kn * Rabs (v j col))).
  - apply Rmult_le_compat_l; [exact Hc|].
    apply Rle_trans with (rsum (S i) (fun j => Qn * Kn * Rabs (v j col))).
    + apply rsum_le; intros j Hj. apply Rmult_le_compat_r; [apply Rabs_pos|].
      eapply Rle_trans; [apply cauchy_schwarz|].
      assert (HKj : norm2 N (k j) <= Kn) by (apply (rmax_ge L (fun t => norm2 N (k t))); lia).
      apply (Rmult_le_compat _ _ _ _ (sqrt_pos _) (sqrt_pos _) HQ HKj).
    + apply rsum_le_longer; [lia|]. intros j.
      apply Rmult_le_pos; [apply Rmult_le_pos; lra|apply Rabs_pos].
  - right. rewrite rsum_scal. ring.
Qed.

End Limit.
