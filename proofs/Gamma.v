(* gamma_m = m u / (1 - m u) (Rust: `theorems::bound::gamma_exact`) and the
   standard facts (1 + u)^k <= 1 + gamma_k, gamma monotone in k. *)

From Coq Require Import Reals Lra Lia.
Open Scope R_scope.

(** Rust: `gamma_exact(m, u)` (which returns `None` when m u >= 1). *)
Definition gamma_exact (m : nat) (u : R) : R := INR m * u / (1 - INR m * u).

Lemma one_plus_gamma m u : INR m * u < 1 -> 1 + gamma_exact m u = / (1 - INR m * u).
Proof. intros H. unfold gamma_exact. field. lra. Qed.

Lemma gamma_nonneg m u : 0 <= u -> INR m * u < 1 -> 0 <= gamma_exact m u.
Proof.
  intros Hu H. unfold gamma_exact, Rdiv.
  apply Rmult_le_pos; [apply Rmult_le_pos; [apply pos_INR|exact Hu]|].
  left; apply Rinv_0_lt_compat; lra.
Qed.

Lemma gamma_mono k m u :
  (k <= m)%nat -> 0 <= u -> INR m * u < 1 -> gamma_exact k u <= gamma_exact m u.
Proof.
  intros Hkm Hu H.
  assert (Hk : INR k * u <= INR m * u) by (apply Rmult_le_compat_r; [lra|apply le_INR; exact Hkm]).
  assert (H0 : 0 <= INR k * u) by (apply Rmult_le_pos; [apply pos_INR|exact Hu]).
  enough (1 + gamma_exact k u <= 1 + gamma_exact m u) by lra.
  rewrite !one_plus_gamma by lra.
  apply Rinv_le_contravar; lra.
Qed.

(** (1 + u)^k <= 1 + gamma_k = 1 / (1 - k u). *)
Lemma pow_le_gamma k u : 0 <= u -> INR k * u < 1 -> (1 + u) ^ k <= 1 + gamma_exact k u.
Proof.
  intros Hu. induction k as [|k IH]; intros H.
  - unfold gamma_exact. simpl. unfold Rdiv. rewrite !Rmult_0_l. lra.
  - rewrite S_INR in H.
    assert (Hk : INR k * u < 1) by lra.
    rewrite one_plus_gamma by (rewrite S_INR; lra).
    rewrite one_plus_gamma in IH by exact Hk.
    simpl pow. rewrite S_INR.
    assert (H0 : 0 <= INR k * u) by (apply Rmult_le_pos; [apply pos_INR|exact Hu]).
    eapply Rle_trans.
    { rewrite Rmult_comm. apply Rmult_le_compat_r; [lra|apply IH; exact Hk]. }
    set (a := 1 - INR k * u).
    replace (1 - (INR k + 1) * u) with (a - u) by (unfold a; ring).
    assert (Ha : 0 < a - u) by (unfold a; lra).
    apply (Rmult_le_reg_r (a * (a - u))); [unfold a in *; nra|].
    replace (/ a * (1 + u) * (a * (a - u))) with ((1 + u) * (a - u)) by (field; unfold a in *; lra).
    replace (/ (a - u) * (a * (a - u))) with a by (field; lra).
    unfold a in *; nra.
Qed.
