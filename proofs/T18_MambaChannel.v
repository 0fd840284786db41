(* T18 - which family heads are Mamba channels, and which are not.
   A head of the family of T14(c) has transitions M_t (d_k x d_k), write
   vectors b_t and queries q_t, and the matrix
     A_{ts} = q_t^T M_t ... M_{s+1} b_s   (s <= t),   A_{ts} = 0   (s > t).
   (a) Identity channel.  If M_1, ..., M_{L-1} are invertible, with
         P_0 = I,   P_t = M_t P_{t-1}   (P_t = M_t ... M_1),
       the diagonal channel of Channel.v with state d_k
         Abar = 1,   Bbar_s = P_s^{-1} b_s,   C_t = P_t^T q_t
       has alpha = A, since M_t ... M_{s+1} = P_t P_s^{-1}; on every value
       coordinate its scan is the head's output (T1 with T14).  M_0 never
       enters A and need not be invertible.
   (b) Invertible step.  Over a field, if O (m x N) has rank N, G (N x N) is
       invertible and R (N x n) has rank N, then rank (O G R) = N.
   (c) No invertible channel.  Let alpha be the matrix of ANY time-varying
       realisation of state N (transitions Abar_t, N x N; input and output
       vectors Bbar_t, C_t), alpha_{ts} = C_t^T Abar_t ... Abar_{s+1} Bbar_s
       (s <= t): this is the matrix of T14(c) with M = Abar, b = Bbar,
       q = C, i.e. `family_A_mx Abar Bbar C`.  For a step 1 <= r <= L-1,
       with blocks written A[i.., ..j] (rows i..L-1, columns 0..j):
         alpha[r.., ..r-1] = O_r Abar_r R_{r-1},
         O_r     = (rows t >= r)   C_t^T Abar_t ... Abar_{r+1},
         R_{r-1} = (columns s <= r-1)   Abar_{r-1} ... Abar_{s+1} Bbar_s,
       while alpha[r-1.., ..r-1] = O' R_{r-1} and alpha[r.., ..r] = O_r R'
       (T15's factorisation).  So if the last two blocks have rank N,
       rank R_{r-1} = N and rank O_r = N (rank of a product <= rank of
       each factor, and both have inner dimension N), and if Abar_r is
       invertible, (b) gives rank alpha[r.., ..r-1] = N.
       Contrapositive: if a matrix has blocks of ranks N, N and < N there,
       no realisation of state N with Abar_r invertible reproduces it; in
       particular no diagonal (Mamba) channel of state N whose Abar_r has
       no zero entry. *)

From mathcomp Require Import all_ssreflect ssralg zmodp matrix mxalgebra.
From HiddenAttention Require Import Channel T1_Unrolling T4_Semiseparable
  T14_DeltaRule T15_FamilySemiseparable T16_Realisations.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section IdentityChannel.

Variable R : comUnitRingType.
Variables L dk dv : nat.
Variables (M : 'I_L -> 'M[R]_dk) (b q : 'I_L -> 'cV[R]_dk).
Variable v : 'I_L -> 'cV[R]_dv.

(* P_t = M_t ... M_1 (so P_0 = I and P_t = M_t P_{t-1}). *)
Definition prefix_prod (t : 'I_L) : 'M[R]_dk := trans_prod M 0 t.+1.

Lemma prefix_prod0 (t : 'I_L) : t = 0%N :> nat -> prefix_prod t = 1%:M.
Proof. by rewrite /prefix_prod => ->. Qed.

Lemma prefix_prodS (t t' : 'I_L) : t = t'.+1 :> nat ->
  prefix_prod t = M t *m prefix_prod t'.
Proof.
by move=> eq_t; rewrite /prefix_prod trans_prod_step eq_t.
Qed.

(* The transitions that enter A are invertible. *)
Hypothesis M_unit : forall t : 'I_L, (0 < t)%N -> M t \in unitmx.

Lemma trans_prod_unit s m : (m <= L)%N -> trans_prod M s m \in unitmx.
Proof.
elim: m => [|m IH] le_mL /=; first exact: unitmx1.
case: ifP => [lt_sm|_]; last exact: unitmx1.
rewrite unitmx_mul IH ?(ltnW le_mL) // (at_timeS _ le_mL) M_unit //=.
exact: leq_ltn_trans (leq0n s) lt_sm.
Qed.

Lemma prefix_prod_unit (t : 'I_L) : prefix_prod t \in unitmx.
Proof. exact: trans_prod_unit. Qed.

(* The channel of state d_k: Abar = 1, Bbar_s = P_s^{-1} b_s, C_t = P_t^T q_t. *)
Definition id_abar (t : 'I_L) (n : 'I_dk) : R := 1.

Definition id_bbar (s : 'I_L) (n : 'I_dk) : R :=
  (invmx (prefix_prod s) *m b s) n 0.

Definition id_C (t : 'I_L) (n : 'I_dk) : R := ((prefix_prod t)^T *m q t) n 0.

(* M_t ... M_{s+1} = P_t P_s^{-1}. *)
Lemma trans_prod_prefix (s t : 'I_L) : (s <= t)%N ->
  trans_prod M s t.+1 = prefix_prod t *m invmx (prefix_prod s).
Proof.
move=> le_st; rewrite /prefix_prod.
rewrite (trans_prod_split M (leq0n s) (leq_ltn_trans le_st (ltnSn t))).
by rewrite mulmxK // prefix_prod_unit.
Qed.

(* T18(a): the channel Abar = 1, Bbar_s = P_s^{-1} b_s, C_t = P_t^T q_t has
   alpha = A. *)
Theorem t18_identity_channel (t s : 'I_L) :
  alpha id_abar id_bbar id_C t s = mx_A M b q t s.
Proof.
rewrite /alpha /mx_A; case: ifP => // le_st.
rewrite trans_prod_prefix // !mulmxA -(mulmxA _ (invmx _)) mxE.
apply: eq_bigr => n _; rewrite /gate_prod big1 // mulr1 /id_C /id_bbar.
by rewrite -[_ *m q t]trmxK trmx_mul trmxK mxE.
Qed.

(* T18(a): on value coordinate c the head is that channel with input v[c]. *)
Theorem t18_identity_head_is_channel (t : 'I_L) (c : 'I_dv) :
  mx_out M b q v t c 0 = output id_abar id_bbar id_C (fun s => v s c 0) t.
Proof.
rewrite t14_matrix_transition_unrolling_coord t1_scan_eq_hidden_attention.
by apply: eq_bigr => s _; rewrite t18_identity_channel.
Qed.

End IdentityChannel.

Section InvertibleStep.

Variable F : fieldType.

(* T18(b): full column rank, invertible, full row rank: the product has
   rank N. *)
Theorem t18_invertible_step_rank m N n (O : 'M[F]_(m, N)) (G : 'M[F]_N)
    (R : 'M[F]_(N, n)) :
  \rank O = N -> G \in unitmx -> \rank R = N -> \rank (O *m G *m R) = N.
Proof.
move=> rO uG rR.
by rewrite mxrankMfree ?mxrankMfree ?row_free_unit // /row_free rR.
Qed.

End InvertibleStep.

Section Steps.

Variable L : nat.

(* The step r - 1 (0 for r = 0). *)
Definition prev_step (r : 'I_L) : 'I_L :=
  Ordinal (leq_ltn_trans (leq_pred r) (ltn_ord r)).

Lemma prev_stepE (r : 'I_L) : prev_step r = r.-1 :> nat.
Proof. by []. Qed.

End Steps.

Section NoInvertibleChannel.

Variable F : fieldType.
Variables L N : nat.
(* A time-varying realisation of state N; its matrix
   alpha_{ts} = C_t^T Abar_t ... Abar_{s+1} Bbar_s is family_A_mx Abar Bbar C. *)
Variables (Abar : 'I_L -> 'M[F]_N) (Bbar C : 'I_L -> 'cV[F]_N).

(* R_r = Abar_r R_{r-1} on the columns s <= r - 1. *)
Lemma t15_V_step (j : 'I_L) (lt_jL : (j.+1 < L)%N) p (c : 'I_p -> 'I_L) :
  (forall e, (c e <= j)%N) ->
  t15_V_mx Abar Bbar (Ordinal lt_jL) c =
  Abar (Ordinal lt_jL) *m t15_V_mx Abar Bbar j c.
Proof.
move=> le_cj; apply/matrixP => i e; rewrite mxE /t15_V.
have lt_cr : (c e < Ordinal lt_jL)%N by rewrite ltnS.
rewrite (trans_prod_step _ lt_cr) -mulmxA !mxE.
by apply: eq_bigr => k _; rewrite !mxE.
Qed.

(* T18(c) with r = j + 1 as an ordinal of its own. *)
Lemma no_invertible_channel_at (j : 'I_L) (lt_jL : (j.+1 < L)%N) :
  let r := Ordinal lt_jL in
  let A := family_A_mx Abar Bbar C in
  \rank (ss_block A j) = N -> \rank (ss_block A r) = N ->
  Abar r \in unitmx -> \rank (below_block A j) = N.
Proof.
move=> r A rk_j rk_r unit_r.
pose rows (a : 'I_(L - j.+1)) : 'I_L := Ordinal (below_row_proof a).
pose O := t15_U_mx Abar C r rows.
pose V := t15_V_mx Abar Bbar j (@block_col L j).
have le_cj (e : 'I_j.+1) : (block_col e <= j)%N by rewrite /= -ltnS.
(* alpha[r.., ..r-1] = O_r Abar_r R_{r-1}. *)
have eq_below : below_block A j = O *m Abar r *m V.
  rewrite -mulmxA -t15_V_step // -t15_block_factorisation => [|a|e].
  - by apply/matrixP => a e; rewrite !mxE.
  - by rewrite /= leq_addr.
  - exact: leq_trans (le_cj e) (leqnSn j).
(* alpha[r-1.., ..r-1] = O' R_{r-1}: rank R_{r-1} = N. *)
have rk_V : \rank V = N.
  apply/anti_leq; rewrite rank_leq_row /= -{1}rk_j.
  have -> : ss_block A j = t15_U_mx Abar C j (@block_row L j) *m V.
    rewrite -t15_block_factorisation => [|a|e //]; last by rewrite /= leq_addr.
    by apply/matrixP => a e; rewrite !mxE.
  exact: mxrankM_maxr.
(* alpha[r.., ..r] = O_r R': rank O_r = N. *)
have rk_O : \rank O = N.
  apply/anti_leq; rewrite rank_leq_col /= -{1}rk_r.
  have -> : ss_block A r = O *m t15_V_mx Abar Bbar r (@block_col L r).
    rewrite -t15_block_factorisation => [|a|e]; last 2 first.
    - by rewrite /= leq_addr.
    - by rewrite /= -ltnS.
    apply/matrixP => a e; rewrite !mxE; congr (mx_A _ _ _ _ _).
    exact: val_inj.
  exact: mxrankM_maxl.
by rewrite eq_below t18_invertible_step_rank.
Qed.

(* T18(c): for a step 1 <= r <= L-1, if alpha[r-1.., ..r-1] and
   alpha[r.., ..r] have rank N and Abar_r is invertible, then
   alpha[r.., ..r-1] has rank N. *)
Theorem t18_no_invertible_channel (r : 'I_L) : (0 < r)%N ->
  \rank (ss_block (family_A_mx Abar Bbar C) (prev_step r)) = N ->
  \rank (ss_block (family_A_mx Abar Bbar C) r) = N ->
  Abar r \in unitmx ->
  \rank (below_block (family_A_mx Abar Bbar C) (prev_step r)) = N.
Proof.
move=> r_gt0; have lt_jL : ((prev_step r).+1 < L)%N by rewrite /= prednK.
have eq_r : r = Ordinal lt_jL by apply: val_inj; rewrite /= prednK.
by have := @no_invertible_channel_at _ lt_jL; rewrite -eq_r.
Qed.

End NoInvertibleChannel.

Section NoMambaChannel.

Variable F : fieldType.
Variables L N : nat.
Variables (S : 'M[F]_L) (r : 'I_L).

(* The certificate: at a step 1 <= r <= L-1 the blocks S[r-1.., ..r-1],
   S[r.., ..r] have rank N and S[r.., ..r-1] has rank < N. *)
Hypotheses (r_gt0 : (0 < r)%N)
  (rk_prev : \rank (ss_block S (prev_step r)) = N)
  (rk_r : \rank (ss_block S r) = N)
  (rk_below : (\rank (below_block S (prev_step r)) < N)%N).

(* T18(c), contrapositive: no realisation of state N with Abar_r
   invertible has alpha = S. *)
Theorem t18_no_mamba_channel (Abar : 'I_L -> 'M[F]_N)
    (Bbar C : 'I_L -> 'cV[F]_N) :
  Abar r \in unitmx -> family_A_mx Abar Bbar C != S.
Proof.
move=> unit_r; apply/eqP => eq_S; move: rk_prev rk_r rk_below; rewrite -eq_S.
by move=> rk_prev' rk_r'; rewrite t18_no_invertible_channel // ltnn.
Qed.

(* T18(c), for the diagonal channels of Channel.v (Mamba): none of state N
   whose Abar_r has no zero entry has alpha = S. *)
Theorem t18_no_diagonal_channel (Abar Bbar C : 'I_L -> 'I_N -> F) :
  (forall n, Abar r n != 0) -> alpha_mx Abar Bbar C != S.
Proof.
move=> Abar_r_neq0.
have -> : alpha_mx Abar Bbar C =
          family_A_mx (diag_M Abar) (col_of Bbar) (col_of C).
  by apply/matrixP => t s; rewrite !mxE t16_diagonal_alpha_is_A.
apply: t18_no_mamba_channel; rewrite unitmxE det_diag unitfE.
by apply/prodf_neq0 => n _; rewrite mxE.
Qed.

End NoMambaChannel.
