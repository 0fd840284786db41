(* Finite sums of reals, in the order the Rust loops add: rsum N f = f 0 + ... + f (N-1). *)

From Coq Require Import Reals Lra Lia.
Open Scope R_scope.

Fixpoint rsum (N : nat) (f : nat -> R) : R :=
  match N with
  | O => 0
  | S k => rsum k f + f k
  end.

Lemma rsum_le N f g : (forall k, (k < N)%nat -> f k <= g k) -> rsum N f <= rsum N g.
Proof.
  induction N as [|N IH]; intros H; simpl; [lra|].
  apply Rplus_le_compat; [apply IH; intros; apply H; lia | apply H; lia].
Qed.

Lemma rsum_nonneg N f : (forall k, (k < N)%nat -> 0 <= f k) -> 0 <= rsum N f.
Proof.
  intros H. replace 0 with (rsum N (fun _ => 0)).
  - apply rsum_le; exact H.
  - induction N; simpl; [reflexivity|]. rewrite IHN; [lra|]. intros; apply H; lia.
Qed.

Lemma rsum_abs N f : Rabs (rsum N f) <= rsum N (fun k => Rabs (f k)).
Proof.
  induction N as [|N IH]; simpl; [rewrite Rabs_R0; lra|].
  eapply Rle_trans; [apply Rabs_triang|]. lra.
Qed.

Lemma rsum_plus N f g : rsum N (fun k => f k + g k) = rsum N f + rsum N g.
Proof. induction N; simpl; [lra|]. rewrite IHN; ring. Qed.

Lemma rsum_scal N c f : rsum N (fun k => c * f k) = c * rsum N f.
Proof. induction N; simpl; [ring|]. rewrite IHN; ring. Qed.

Lemma rsum_const N c : rsum N (fun _ => c) = INR N * c.
Proof. induction N; simpl rsum; [simpl; ring|]. rewrite IHN, S_INR; ring. Qed.

Lemma rsum_ext N f g : (forall k, (k < N)%nat -> f k = g k) -> rsum N f = rsum N g.
Proof.
  induction N as [|N IH]; intros H; simpl; [reflexivity|].
  rewrite IH, H; [reflexivity|lia|]. intros; apply H; lia.
Qed.

Lemma rsum_minus N f g : rsum N f - rsum N g = rsum N (fun k => f k - g k).
Proof. induction N; simpl; [ring|]. rewrite <- IHN; ring. Qed.

Lemma rsum_term_le K f k : (forall j, (j < K)%nat -> 0 <= f j) -> (k < K)%nat -> f k <= rsum K f.
Proof.
  induction K as [|K IH]; intros Hf Hk; [lia|]. simpl.
  destruct (Nat.eq_dec k K) as [->|Hne].
  - assert (0 <= rsum K f) by (apply rsum_nonneg; intros; apply Hf; lia). lra.
  - assert (f k <= rsum K f) by (apply IH; [intros; apply Hf; lia|lia]).
    assert (0 <= f K) by (apply Hf; lia). lra.
Qed.

Lemma rsum_le_longer K K' f :
  (K <= K')%nat -> (forall j, 0 <= f j) -> rsum K f <= rsum K' f.
Proof.
  intros H Hf. induction H; [lra|]. simpl. assert (H0 := Hf m). lra.
Qed.
