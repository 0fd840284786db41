(* Index ranges lo <= r < hi inside 'I_L: peeling off the last index,
   empty ranges, clamping at L.  Used by T13 and T14. *)

From mathcomp Require Import all_ssreflect ssralg.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Ranges.

Variable L : nat.

(* Peeling the last index j off the range lo <= r <= j. *)
Lemma big_range_last (T : Type) (idx : T) (op : Monoid.com_law idx)
    (F : 'I_L -> T) lo j (lt_jL : (j < L)%N) : (lo <= j)%N ->
  \big[op/idx]_(r < L | (lo <= r < j.+1)%N) F r =
  op (F (Ordinal lt_jL)) (\big[op/idx]_(r < L | (lo <= r < j)%N) F r).
Proof.
move=> le_lo_j; rewrite (bigD1 (Ordinal lt_jL)) /= ?le_lo_j ?ltnSn //.
congr (op _ _); apply: eq_bigl => r; rewrite -val_eqE /= ltnS.
by case: (ltngtP r j); rewrite ?andbT ?andbF.
Qed.

(* An empty range. *)
Lemma big_range_nil (T : Type) (idx : T) (op : T -> T -> T)
    (F : 'I_L -> T) lo :
  \big[op/idx]_(r < L | (lo <= r < lo)%N) F r = idx.
Proof. by rewrite big_pred0 // => r; rewrite ltnNge andbN. Qed.

(* Clamping a range at L changes nothing for indices below L. *)
Lemma range_minn (r : 'I_L) lo hi :
  (minn lo L <= r < minn hi L)%N = (lo <= r < hi)%N.
Proof.
by rewrite geq_min leq_min [(L <= r)%N]leqNgt ltn_ord orbF andbT.
Qed.

End Ranges.

Section RingRanges.

Variable R : comRingType.
Variable L : nat.

Lemma prod_range_last (F : 'I_L -> R) lo j (lt_jL : (j < L)%N) :
  (lo <= j)%N ->
  \prod_(r < L | (lo <= r < j.+1)%N) F r =
  F (Ordinal lt_jL) * \prod_(r < L | (lo <= r < j)%N) F r.
Proof. exact: big_range_last. Qed.

Lemma sum_range_last (F : 'I_L -> R) lo j (lt_jL : (j < L)%N) :
  (lo <= j)%N ->
  \sum_(r < L | (lo <= r < j.+1)%N) F r =
  F (Ordinal lt_jL) + \sum_(r < L | (lo <= r < j)%N) F r.
Proof. exact: big_range_last. Qed.

End RingRanges.
