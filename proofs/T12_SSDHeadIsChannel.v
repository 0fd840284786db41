(* T12 - an SSD head is a Mamba-1 channel.
   An SSD head (scalar transition a_t, input matrix B, output matrix C,
   skip D) is, on each head-dimension coordinate p, the S6 channel of
   Channel.v with state size N whose diagonal transition has all N entries
   equal to a_t:
     Abar_t = (a_t, ..., a_t),  Bbar = B,  C = C,  input x_t[p],
   plus the skip D[p] x_t[p]; the states agree entry by entry and the two
   hidden attention matrices are equal:
     (C_t . B_s) prod_{r=s+1}^{t} a_r
       = sum_n C_t[n] (prod_{r=s+1}^{t} Abar_r[n]) Bbar_s[n].
   Conversely a channel whose diagonal transition has all entries equal to
   a_t is an SSD head (head dimension 1, D = 0). *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel SSD.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

(* The diagonal transition with all entries equal to a_t. *)
Definition ssd_Abar (R : ringType) L N (a : 'I_L -> R) : 'I_L -> 'I_N -> R :=
  fun t _ => a t.

Section HeadIsChannel.

Variable R : comRingType.
Variables L N P : nat.
Variables (a : 'I_L -> R) (B C : 'I_L -> 'I_N -> R) (D : 'I_P -> R).
Variable x : 'I_L -> 'I_P -> R.

Local Notation Abar := (@ssd_Abar R L N a).

(* The states agree entry by entry, after every number of steps. *)
Lemma t12_ssd_state_is_channel_state m n p :
  ssd_state a B x m n p = state Abar B (fun s => x s p) m n.
Proof. by elim: m => //= m ->. Qed.

(* T12: on coordinate p the head is the channel (a_t, ..., a_t), B, C with
   input x[p], plus the skip D[p] x_t[p]. *)
Theorem t12_ssd_head_is_channel (t : 'I_L) (p : 'I_P) :
  ssd_output a B C D x t p = output Abar B C (fun s => x s p) t + D p * x t p.
Proof.
by rewrite /ssd_output /output /ssd_hidden /hidden;
  under eq_bigr do rewrite t12_ssd_state_is_channel_state.
Qed.

(* T12: the two hidden attention matrices agree entry by entry. *)
Theorem t12_ssd_alpha_is_channel_alpha (t s : 'I_L) :
  ssd_alpha a B C t s = alpha Abar B C t s.
Proof.
rewrite /ssd_alpha /alpha; case: ifP => // _.
rewrite mulr_suml; apply: eq_bigr => n _.
by rewrite /ssd_decay /gate_prod /ssd_Abar mulrAC.
Qed.

Corollary t12_ssd_alpha_mx_is_channel_alpha_mx :
  ssd_alpha_mx a B C = alpha_mx Abar B C.
Proof.
by apply/matrixP => t s; rewrite !mxE t12_ssd_alpha_is_channel_alpha.
Qed.

End HeadIsChannel.

Section EqualEntries.

Variable R : comRingType.
Variables L N : nat.
Variables (Abar Bbar C : 'I_L -> 'I_N -> R) (x : 'I_L -> R) (a : 'I_L -> R).

(* T12, converse: a channel whose diagonal transition has all entries
   equal to a_t is the SSD head (a, Bbar, C) of head dimension 1, D = 0. *)
Theorem t12_equal_entries_channel_is_ssd_head :
  (forall t n, Abar t n = a t) ->
  forall t : 'I_L,
  output Abar Bbar C x t =
  ssd_output a Bbar C (fun _ : 'I_1 => 0) (fun s _ => x s) t ord0.
Proof.
move=> Abar_eq t; rewrite t12_ssd_head_is_channel mul0r addr0.
have E m n : state Abar Bbar x m n = state (@ssd_Abar R L N a) Bbar x m n.
  elim: m => //= m ->; congr (_ * _ + _).
  by rewrite /at_step; case: insub => // i; exact: Abar_eq.
by apply: eq_bigr => n _; rewrite /hidden E.
Qed.

End EqualEntries.
