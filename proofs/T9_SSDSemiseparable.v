(* T9 - SSD semiseparable bound.
   The hidden attention matrix of an SSD head with state size N is
   N-semiseparable: every block alpha[j..L-1, 0..j] (0-based) has rank at
   most N, so its semiseparable rank is at most N.  It falls out of T4
   because the head is a channel (T12). *)

From mathcomp Require Import all_ssreflect ssralg matrix mxalgebra.
From HiddenAttention Require Import Channel SSD T12_SSDHeadIsChannel
  T4_Semiseparable.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section Semiseparable.

Variable F : fieldType.
Variables L N : nat.
Variables (a : 'I_L -> F) (B C : 'I_L -> 'I_N -> F).

(* T9, general form: any matrix of entries alpha_{r(a), c(b)} with all rows
   r(a) >= j and all columns c(b) <= j has rank at most N. *)
Theorem t9_ssd_semiseparable_general m p (j : 'I_L)
    (r : 'I_m -> 'I_L) (c : 'I_p -> 'I_L) :
  (forall i, (j <= r i)%N) -> (forall i, (c i <= j)%N) ->
  (\rank (\matrix_(i, i') ssd_alpha a B C (r i) (c i')) <= N)%N.
Proof.
move=> le_jr le_cj.
have -> : \matrix_(i, i') ssd_alpha a B C (r i) (c i') =
          \matrix_(i, i') alpha (@ssd_Abar F L N a) B C (r i) (c i').
  by apply/matrixP => i i'; rewrite !mxE t12_ssd_alpha_is_channel_alpha.
exact: t4_semiseparable_rank_general.
Qed.

(* T9: every block alpha[j..L-1, 0..j] has rank at most N. *)
Theorem t9_ssd_semiseparable (j : 'I_L) :
  (\rank (ss_block (ssd_alpha_mx a B C) j) <= N)%N.
Proof.
rewrite t12_ssd_alpha_mx_is_channel_alpha_mx; exact: t4_semiseparable_rank.
Qed.

(* T9, as a bound on the semiseparable rank. *)
Corollary t9_ssd_ss_rank_le_state : (ss_rank (ssd_alpha_mx a B C) <= N)%N.
Proof.
rewrite t12_ssd_alpha_mx_is_channel_alpha_mx; exact: t4_ss_rank_le_state.
Qed.

End Semiseparable.
