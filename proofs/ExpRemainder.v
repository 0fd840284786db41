(* The Taylor remainder behind `interval::exp_enclosure` (and the fixed-point
   `exp_taylor`): for |y| <= 1/2 (the Rust code reduces to |y| <= 1/8),
     |e^y - T_n(y)| <= 2 |y|^{n+1} / (n+1)!,   T_n(y) = sum_{k=0}^{n} y^k / k!
   ([exp_taylor_remainder]), i.e. the tail after term n is at most
   2 |y^n / n!| |y| / (n+1) ([exp_taylor_remainder_step]), the test the Rust loop
   makes after each term.  e^y is the standard library's exp (the sum of the
   series), so nothing beyond the real numbers is assumed. *)

From Coq Require Import Reals Lra Lia.

Open Scope R_scope.

(** T_n(y) = sum_{k=0}^{n} y^k / k!. *)
Definition taylor (n : nat) (y : R) : R := sum_f_R0 (fun k => / INR (fact k) * y ^ k) n.

Lemma exp_is_series y : exp_in y (exp y).
Proof. unfold exp. destruct (exist_exp y) as [l Hl]. exact Hl. Qed.

Section Tail.

Variable y : R.
Hypothesis Hy : Rabs y <= / 2.

Let r := Rabs y.
Let s k := / INR (fact k) * y ^ k.
Let a k := / INR (fact k) * r ^ k.

Lemma fact_pos k : 0 < INR (fact k).
Proof. apply lt_0_INR, lt_O_fact. Qed.

Lemma abs_term k : Rabs (s k) = a k.
Proof.
  unfold s, a, r. rewrite Rabs_mult, <- RPow_abs. f_equal.
  rewrite Rabs_right; [reflexivity|]. apply Rle_ge, Rlt_le, Rinv_0_lt_compat, fact_pos.
Qed.

Lemma a_nonneg k : 0 <= a k.
Proof.
  unfold a. apply Rmult_le_pos; [apply Rlt_le, Rinv_0_lt_compat, fact_pos|].
  apply pow_le, Rabs_pos.
Qed.

Lemma a_step k : a (S k) <= r * a k.
Proof.
  unfold a. rewrite fact_simpl, mult_INR. simpl pow.
  assert (Hf := fact_pos k). assert (Hr : 0 <= r) by apply Rabs_pos.
  assert (Hk : 1 <= INR (S k)) by (apply (le_INR 1); lia).
  assert (Hp : 0 <= r ^ k) by (apply pow_le; exact Hr).
  rewrite Rinv_mult.
  replace (/ INR (S k) * / INR (fact k) * (r * r ^ k))
    with (/ INR (S k) * (r * (/ INR (fact k) * r ^ k))) by ring.
  assert (H0 : 0 <= r * (/ INR (fact k) * r ^ k))
    by (apply Rmult_le_pos; [exact Hr|apply Rmult_le_pos; [left; apply Rinv_0_lt_compat; lra|exact Hp]]).
  assert (H1 : / INR (S k) <= 1) by (rewrite <- Rinv_1; apply Rinv_le_contravar; lra).
  assert (H2 : 0 < / INR (S k)) by (apply Rinv_0_lt_compat; lra).
  replace (r * (/ INR (fact k) * r ^ k)) with (r * (/ INR (fact k) * r ^ k)) by reflexivity.
  nra.
Qed.

Lemma tail_bound n m :
  Rabs (sum_f_R0 s (n + m) - sum_f_R0 s n) + 2 * a (S (n + m)) <= 2 * a (S n).
Proof.
  induction m as [|m IH].
  - rewrite Nat.add_0_r. unfold Rminus. rewrite Rplus_opp_r, Rabs_R0. lra.
  - rewrite Nat.add_succ_r. simpl sum_f_R0.
    replace (sum_f_R0 s (n + m) + s (S (n + m)) - sum_f_R0 s n)
      with ((sum_f_R0 s (n + m) - sum_f_R0 s n) + s (S (n + m))) by ring.
    eapply Rle_trans; [apply Rplus_le_compat_r; apply Rabs_triang|].
    rewrite abs_term.
    assert (H1 := a_step (S (n + m))). assert (H2 := a_nonneg (S (n + m))).
    assert (Hr : r <= / 2) by exact Hy.
    assert (H3 : r * a (S (n + m)) <= / 2 * a (S (n + m))) by (apply Rmult_le_compat_r; lra).
    lra.
Qed.

End Tail.

(** The Taylor remainder of exp for |y| <= 1/2. *)
Theorem exp_taylor_remainder n y :
  Rabs y <= / 2 ->
  Rabs (exp y - taylor n y) <= 2 * (Rabs y ^ S n / INR (fact (S n))).
Proof.
  intros Hy. apply le_epsilon. intros eps Heps.
  destruct (exp_is_series y eps (Rlt_gt _ _ Heps)) as [N0 HN].
  assert (HM := HN (n + N0)%nat ltac:(lia)). unfold R_dist in HM.
  assert (HT := tail_bound y Hy n N0).
  assert (Ha := a_nonneg y (S (n + N0))).
  unfold taylor.
  set (sM := sum_f_R0 (fun k => / INR (fact k) * y ^ k) (n + N0)) in *.
  set (sn := sum_f_R0 (fun k => / INR (fact k) * y ^ k) n) in *.
  replace (exp y - sn) with (- (sM - exp y) + (sM - sn)) by ring.
  eapply Rle_trans; [apply Rabs_triang|]. rewrite Rabs_Ropp.
  unfold Rdiv. rewrite Rmult_comm with (r1 := Rabs y ^ S n).
  lra.
Qed.

(** The same bound in the form the Rust loop tests after term n:
    2 |y|^{n+1}/(n+1)! = 2 |y^n / n!| |y| / (n+1). *)
Theorem exp_taylor_remainder_step n y :
  Rabs y <= / 2 ->
  Rabs (exp y - taylor n y)
  <= 2 * Rabs (/ INR (fact n) * y ^ n) * Rabs y / INR (S n).
Proof.
  intros Hy. eapply Rle_trans; [apply exp_taylor_remainder; exact Hy|].
  right. assert (Hf := fact_pos n). assert (Hn : 0 < INR (S n)) by (apply lt_0_INR; lia).
  rewrite Rabs_mult, <- RPow_abs, (Rabs_right (/ INR (fact n)))
    by (apply Rle_ge, Rlt_le, Rinv_0_lt_compat; exact Hf).
  rewrite fact_simpl, mult_INR. simpl pow. field. lra.
Qed.
