(* T19 - causal softmax matrices outside the gated-linear family.
   T15 bounds the blocks of every head of the family of T14(c) with key
   dimension d_k: rank A[j.., ..j] <= d_k (rows j..L-1, columns 0..j), and
   for RWKV-6 rank A[j+1.., ..j] <= d_k below the diagonal and
   rank A[j.., ..j] <= d_k + 1 through it.  So one block of larger rank is a
   certificate: for any matrix S (e.g. a causal softmax matrix) and any
   split j,
     rank S[j.., ..j] > d_k        =>  S != A for every M, b, q of key
                                       dimension d_k;
     rank S[j+1.., ..j] > d_k      =>  S is no RWKV-6 matrix of key
                                       dimension d_k;
     rank S[j.., ..j] > d_k + 1    =>  the same.
   With T6's causal softmax matrix of L = 2N+1 whose block [N..2N, 0..N]
   has rank N+1: for every d_k there is a causal softmax matrix that no
   head of key dimension d_k reproduces (N = d_k), and one that no RWKV-6
   head of key dimension d_k reproduces (N = d_k + 1). *)

From mathcomp Require Import all_ssreflect ssralg ssrnum matrix mxalgebra.
From HiddenAttention Require Import T4_Semiseparable T6_Softmax
  T15_FamilySemiseparable.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Certificates.

Variable F : fieldType.
Variables L dk : nat.
Variables (S : 'M[F]_L) (j : 'I_L).

(* T19: a block S[j.., ..j] of rank > d_k: S is no head of the family
   (T14(c)) of key dimension d_k (by t15_semiseparable_rank). *)
Theorem t19_softmax_not_member : (dk < \rank (ss_block S j))%N ->
  forall (M : 'I_L -> 'M[F]_dk) (b q : 'I_L -> 'cV[F]_dk),
    family_A_mx M b q != S.
Proof.
move=> lt_dk M b q; apply/eqP => eq_S; move: lt_dk.
by rewrite -eq_S ltnNge t15_semiseparable_rank.
Qed.

(* T19, RWKV-6: a strictly lower block S[j+1.., ..j] of rank > d_k: S is no
   RWKV-6 matrix of key dimension d_k (by t15_rwkv6_rank_below). *)
Theorem t19_softmax_not_rwkv6 : (dk < \rank (below_block S j))%N ->
  forall (w q k : 'I_L -> 'I_dk -> F) (u : 'I_dk -> F),
    rwkv6_A_mx w q k u != S.
Proof.
move=> lt_dk w q k u; apply/eqP => eq_S; move: lt_dk.
by rewrite -eq_S ltnNge t15_rwkv6_rank_below.
Qed.

(* T19, RWKV-6 through the diagonal: a block S[j.., ..j] of rank > d_k + 1
   (by t15_rwkv6_rank_diag). *)
Theorem t19_softmax_not_rwkv6_diag : (dk + 1 < \rank (ss_block S j))%N ->
  forall (w q k : 'I_L -> 'I_dk -> F) (u : 'I_dk -> F),
    rwkv6_A_mx w q k u != S.
Proof.
move=> lt_dk w q k u; apply/eqP => eq_S; move: lt_dk.
by rewrite -eq_S ltnNge t15_rwkv6_rank_diag.
Qed.

End Certificates.

Section SoftmaxWitness.

Variable R : numFieldType.
Variable dk : nat.

(* T19 with T6(b): for every d_k a causal softmax matrix (L = 2 d_k + 1)
   that no head of the family of key dimension d_k reproduces. *)
Theorem t19_softmax_family_unbounded :
  exists2 w : 'M[R]_(dk.+1 + dk), positive_lower w &
    forall (M : 'I_(dk.+1 + dk) -> 'M[R]_dk)
           (b q : 'I_(dk.+1 + dk) -> 'cV[R]_dk),
      family_A_mx M b q != causal_softmax w.
Proof.
exists (spike_w R dk); first exact: spike_w_pos.
exact: t19_softmax_not_member (spike_block_rank R dk).
Qed.

(* ... and (L = 2 d_k + 3) one that no RWKV-6 head of key dimension d_k
   reproduces. *)
Theorem t19_softmax_rwkv6_unbounded :
  exists2 w : 'M[R]_(dk.+2 + dk.+1), positive_lower w &
    forall (w' q k : 'I_(dk.+2 + dk.+1) -> 'I_dk -> R) (u : 'I_dk -> R),
      rwkv6_A_mx w' q k u != causal_softmax w.
Proof.
exists (spike_w R dk.+1); first exact: spike_w_pos.
apply: t19_softmax_not_rwkv6_diag; rewrite addn1.
exact: spike_block_rank.
Qed.

End SoftmaxWitness.
