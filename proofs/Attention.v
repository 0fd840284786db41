(* Attention heads: causal gated linear attention with diagonal gates, and
   plain (ungated) causal linear attention.  Indices are 0-based.

   Gated head of dimension d (gates g_k, queries q_i, keys k_j in K^d,
   values v_j in K^dv):
     o_i = sum_{j <= i} <q_i, (prod_{l=j+1}^{i} g_l) .* k_j> v_j
   Plain linear attention:
     o_i = sum_{j <= i} <q_i, k_j> v_j
   Retention with scalar decay gamma:
     o_i = sum_{j <= i} gamma^(i-j) <q_i, k_j> v_j *)

From mathcomp Require Import all_ssreflect ssralg matrix.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Heads.

Variable R : comRingType.
Variables L d : nat.
Variables (g q k : 'I_L -> 'I_d -> R).

(* Score of the gated head: <q_i, (prod_{l=j+1}^{i} g_l) .* k_j>. *)
Definition gla_score (i j : 'I_L) : R :=
  \sum_(n < d) q i n * ((\prod_(l < L | (j < l <= i)%N) g l n) * k j n).

(* Gated head on scalar values v_j. *)
Definition gla_out (v : 'I_L -> R) (i : 'I_L) : R :=
  \sum_(j < L | (j <= i)%N) gla_score i j * v j.

(* Gated head on vector values v_j in K^dv, coordinate c of output i. *)
Definition gla_head dv (v : 'I_L -> 'I_dv -> R) (i : 'I_L) (c : 'I_dv) : R :=
  gla_out (fun j => v j c) i.

(* Plain causal linear attention: score <q_i, k_j>. *)
Definition la_score (i j : 'I_L) : R := \sum_(n < d) q i n * k j n.

Definition la_out (v : 'I_L -> R) (i : 'I_L) : R :=
  \sum_(j < L | (j <= i)%N) la_score i j * v j.

Definition la_head dv (v : 'I_L -> 'I_dv -> R) (i : 'I_L) (c : 'I_dv) : R :=
  la_out (fun j => v j c) i.

(* Retention (RetNet) with scalar decay gamma:
   o_i = sum_{j <= i} gamma^(i-j) <q_i, k_j> v_j. *)
Definition ret_head (gamma : R) dv (v : 'I_L -> 'I_dv -> R) (i : 'I_L)
    (c : 'I_dv) : R :=
  \sum_(j < L | (j <= i)%N) gamma ^+ (i - j) * la_score i j * v j c.

End Heads.
