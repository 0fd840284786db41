(* T3 - a head is a channel.
   Every causal gated linear attention head with diagonal gates g_k in K^d,
   queries q_i, keys k_j in K^d and values v_j in K^dv equals, on each value
   coordinate c, the S6 channel with state size N = d,
     Abar_k = g_k,  Bbar_j = k_j,  C_i = q_i,  input x_j = v_j[c].
   Plain causal linear attention  o_i = sum_{j <= i} <q_i, k_j> v_j  is the
   case g = 1; retention  o_i = sum_{j <= i} gamma^(i-j) <q_i, k_j> v_j  is
   the case g = gamma; a time-varying scalar gate a_k (Mamba-2/SSD) is the
   case g_k = (a_k, ..., a_k). *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel T1_Unrolling Attention T2_LinearAttention.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section HeadIsChannel.

Variable R : comRingType.
Variables L d dv : nat.

(* T3: a gated linear attention head is, per value coordinate, a channel with
   Abar = g, Bbar = k, C = q and input v[c]. *)
Theorem t3_gated_head_is_channel (g q k : 'I_L -> 'I_d -> R)
    (v : 'I_L -> 'I_dv -> R) (i : 'I_L) (c : 'I_dv) :
  gla_head g q k v i c = output g k q (fun j => v j c) i.
Proof. by rewrite t2a_gated_form. Qed.

(* The hidden attention matrix of that channel is the head's score matrix. *)
Lemma t3_gated_head_scores (g q k : 'I_L -> 'I_d -> R) (i j : 'I_L) :
  (j <= i)%N -> alpha g k q i j = gla_score g q k i j.
Proof. exact: alpha_gla_score. Qed.

Lemma gla_score_ones (q k : 'I_L -> 'I_d -> R) (i j : 'I_L) :
  gla_score (fun _ _ => 1) q k i j = la_score q k i j.
Proof.
by apply: eq_bigr => n _; rewrite big1_eq mul1r.
Qed.

(* T3, plain linear attention: the case g = 1, i.e. the channel with
   Abar = 1, Bbar = k, C = q and input v[c]. *)
Theorem t3_linear_head_is_channel (q k : 'I_L -> 'I_d -> R)
    (v : 'I_L -> 'I_dv -> R) (i : 'I_L) (c : 'I_dv) :
  la_head q k v i c = output (fun _ _ => 1) k q (fun j => v j c) i.
Proof.
rewrite t2a_gated_form /la_head /la_out /gla_out.
by apply: eq_bigr => j _; rewrite gla_score_ones.
Qed.

Lemma prod_const_interval (x : R) (j i : 'I_L) :
  \prod_(l < L | (j < l <= i)%N) x = x ^+ (i - j).
Proof.
rewrite (eq_bigl (fun l : 'I_L => (xpredT l && (l < i.+1)) && (j.+1 <= l))%N)
  => [|l]; last by rewrite andbC.
rewrite -(big_geq_mkord j.+1 L (fun l => xpredT l && (l < i.+1))%N (fun _ => x)).
by rewrite -big_nat_widen ?ltn_ord // prodr_const_nat subSS.
Qed.

(* T3, retention: the case of a constant scalar gate g = gamma, i.e. the
   channel with Abar = gamma, Bbar = k, C = q and input v[c]. *)
Theorem t3_retention_head_is_channel (gamma : R) (q k : 'I_L -> 'I_d -> R)
    (v : 'I_L -> 'I_dv -> R) (i : 'I_L) (c : 'I_dv) :
  ret_head q k gamma v i c = output (fun _ _ => gamma) k q (fun j => v j c) i.
Proof.
rewrite t2a_gated_form /ret_head /gla_out; apply: eq_bigr => j _.
congr (_ * _); rewrite /gla_score /la_score big_distrr /=.
by apply: eq_bigr => n _; rewrite prod_const_interval mulrCA mulrA.
Qed.

End HeadIsChannel.
