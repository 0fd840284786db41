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

End Limit.
