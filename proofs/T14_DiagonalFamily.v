(* T14 (a) - unrolling of the diagonal-gate family.
   A gated linear attention layer with diagonal key gates (GLA; simple GLA /
   SSD with a scalar gate per head, RetNet with a fixed decay), key
   dimension d_k, value dimension d_v, keeps a d_k x d_v state
     S_t = diag(g_t) S_{t-1} + k_t v_t^T,   S_{-1} = 0,   o_t = S_t^T q_t.
   Over any commutative ring, on every value coordinate c,
     o_t[c] = sum_{s <= t} A_{ts} v_s[c],
     A_{ts} = sum_i q_t[i] (prod_{r=s+1}^{t} g_r[i]) k_s[i]   (s <= t), 0 above.
   Proved by reduction: on value coordinate c the layer is the S6 channel
   with Abar = g, Bbar = k, C = q, input v[c] (the channel of T3), so A is
   that channel's alpha and T1 applies.
   The elementwise members (HGRN: h_t = g_t .* h_{t-1} + x_t; Griffin's
   RG-LRU: h_t = a_t .* h_{t-1} + m_t .* (i_t .* x_t) with m_0 = 1 and
   m_t = sqrt(1 - a_t^2) otherwise, the square root given as a ring
   element) are a channel of state 1 per coordinate:
     o_t[c] = sum_{s <= t} (prod_{r=s+1}^{t} g_r[c]) b_s[c] x_s[c]. *)

From mathcomp Require Import all_ssreflect ssralg zmodp matrix.
From HiddenAttention Require Import Channel T1_Unrolling Attention
  T2_LinearAttention T3_HeadIsChannel.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section DiagonalFamily.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (g q k : 'I_L -> 'I_dk -> R) (v : 'I_L -> 'I_dv -> R).

(* [diag_state m i c]: entry (i, c) of the state after the first m steps. *)
Fixpoint diag_state (m : nat) (i : 'I_dk) (c : 'I_dv) : R :=
  match m with
  | 0 => 0
  | m'.+1 => at_step (fun r => g r i) m' * diag_state m' i c
             + at_step (fun r => k r i) m' * at_step (fun r => v r c) m'
  end.

(* o_t[c] = (S_t^T q_t)[c]. *)
Definition diag_out (t : 'I_L) (c : 'I_dv) : R :=
  \sum_(i < dk) q t i * diag_state t.+1 i c.

(* The implicit attention matrix. *)
Definition diag_A (t s : 'I_L) : R :=
  if (s <= t)%N then
    \sum_(i < dk) q t i * (\prod_(r < L | (s < r <= t)%N) g r i) * k s i
  else 0.

Lemma t14_diagonal_state_is_channel_state m i c :
  diag_state m i c = state g k (fun s => v s c) m i.
Proof. by elim: m => //= m ->. Qed.

(* T14(a): on value coordinate c the layer is the channel Abar = g,
   Bbar = k, C = q with input v[c]. *)
Theorem t14_diagonal_family_is_channel (t : 'I_L) (c : 'I_dv) :
  diag_out t c = output g k q (fun s => v s c) t.
Proof.
by apply: eq_bigr => i _; rewrite t14_diagonal_state_is_channel_state.
Qed.

(* ... hence (T3) the gated linear attention head of Attention.v. *)
Corollary t14_diagonal_family_is_head (t : 'I_L) (c : 'I_dv) :
  diag_out t c = gla_head g q k v t c.
Proof.
by rewrite t14_diagonal_family_is_channel t3_gated_head_is_channel.
Qed.

(* A is that channel's hidden attention matrix. *)
Lemma t14_diagonal_A_is_alpha (t s : 'I_L) : diag_A t s = alpha g k q t s.
Proof. by []. Qed.

(* T14(a): o_t[c] = sum_{s <= t} A_{ts} v_s[c]. *)
Theorem t14_diagonal_family_unrolling (t : 'I_L) (c : 'I_dv) :
  diag_out t c = \sum_(s < L | (s <= t)%N) diag_A t s * v s c.
Proof.
by rewrite t14_diagonal_family_is_channel t1_scan_eq_hidden_attention.
Qed.

(* T14(a), matrix form: O = A V for the L x d_v values V. *)
Theorem t14_diagonal_family_unrolling_mx :
  \matrix_(t, c) diag_out t c =
  (\matrix_(t, s) diag_A t s) *m \matrix_(s, c) v s c.
Proof.
apply/matrixP => t c; rewrite !mxE t14_diagonal_family_unrolling.
rewrite [RHS](bigID (fun s : 'I_L => (s <= t)%N)) /=.
rewrite [X in _ = _ + X]big1 ?addr0 => [|s]; last first.
  by rewrite -ltnNge !mxE /diag_A => lt_ts; rewrite leqNgt lt_ts mul0r.
by apply: eq_bigr => s _; rewrite !mxE.
Qed.

End DiagonalFamily.

Section ScalarGate.

Variable R : comRingType.
Variables L dk dv : nat.
Variables (a : 'I_L -> R) (q k : 'I_L -> 'I_dk -> R) (v : 'I_L -> 'I_dv -> R).

(* T14(a), scalar gate per head (simple GLA, SSD):
   A_{ts} = (q_t . k_s) prod_{r=s+1}^{t} a_r. *)
Corollary t14_scalar_gate_unrolling (t : 'I_L) (c : 'I_dv) :
  diag_out (fun r _ => a r) q k v t c =
  \sum_(s < L | (s <= t)%N)
     ((\sum_(i < dk) q t i * k s i) * \prod_(r < L | (s < r <= t)%N) a r)
     * v s c.
Proof.
rewrite t14_diagonal_family_unrolling; apply: eq_bigr => s le_st.
rewrite /diag_A le_st [in RHS]mulr_suml; congr (_ * _).
by apply: eq_bigr => i _; rewrite mulrAC.
Qed.

(* T14(a), RetNet (fixed decay gamma): A_{ts} = gamma^(t-s) (q_t . k_s). *)
Corollary t14_retention_unrolling (gamma : R) (t : 'I_L) (c : 'I_dv) :
  diag_out (fun _ _ => gamma) q k v t c =
  \sum_(s < L | (s <= t)%N)
     (gamma ^+ (t - s) * \sum_(i < dk) q t i * k s i) * v s c.
Proof.
rewrite t14_diagonal_family_unrolling; apply: eq_bigr => s le_st.
rewrite /diag_A le_st big_distrr; congr (_ * _); apply: eq_bigr => i _.
by rewrite prod_const_interval mulrAC mulrC.
Qed.

End ScalarGate.

Section Elementwise.

Variable R : comRingType.
Variables L d : nat.
Variables (g b x : 'I_L -> 'I_d -> R).

(* h_t[c] = g_t[c] h_{t-1}[c] + b_t[c] x_t[c], h_{-1} = 0, o_t = h_t. *)
Fixpoint elem_state (m : nat) (c : 'I_d) : R :=
  match m with
  | 0 => 0
  | m'.+1 => at_step (fun r => g r c) m' * elem_state m' c
             + at_step (fun r => b r c) m' * at_step (fun r => x r c) m'
  end.

Definition elem_out (t : 'I_L) (c : 'I_d) : R := elem_state t.+1 c.

(* On coordinate c: the channel of state 1 with Abar = g[c], Bbar = b[c],
   C = 1 and input x[c]. *)
Lemma t14_elementwise_is_channel (t : 'I_L) (c : 'I_d) :
  elem_out t c =
  output (fun r (_ : 'I_1) => g r c) (fun r _ => b r c) (fun _ _ => 1)
         (fun r => x r c) t.
Proof.
have E m : elem_state m c =
    state (fun r (_ : 'I_1) => g r c) (fun r _ => b r c) (fun r => x r c) m ord0.
  by elim: m => //= m ->.
by rewrite /output big_ord1 mul1r /hidden -E.
Qed.

(* T14(a), elementwise members (HGRN, RG-LRU):
   o_t[c] = sum_{s <= t} (prod_{r=s+1}^{t} g_r[c]) b_s[c] x_s[c]. *)
Theorem t14_elementwise_unrolling (t : 'I_L) (c : 'I_d) :
  elem_out t c =
  \sum_(s < L | (s <= t)%N)
     ((\prod_(r < L | (s < r <= t)%N) g r c) * b s c) * x s c.
Proof.
rewrite t14_elementwise_is_channel t1_scan_eq_hidden_attention.
by apply: eq_bigr => s le_st; rewrite alpha_lower // big_ord1 mul1r.
Qed.

End Elementwise.
