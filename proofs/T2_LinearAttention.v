(* T2 - a channel is a causal linear attention head.
   (a) With gates g_k = Abar_k, queries q_i = C_i, keys k_j = Bbar_j and
       scalar values v_j = x_j, the channel output is the output of a gated
       linear attention head of dimension N:
         y_i = sum_{j <= i} <q_i, (prod_{k=j+1}^{i} g_k) .* k_j> v_j.
   (b) Over a field, if no entry of Abar_k is 0 for k >= 1, then with
       P_i = prod_{1 <= k <= i} Abar_k (entrywise; the product starts after
       step 0, whose Abar never enters alpha, so Abar_0 may be 0),
         alpha_{ij} = <C_i .* P_i, Bbar_j ./ P_j>   for j <= i,
       i.e. alpha = tril(Q K^T) with Q_i = C_i .* P_i, K_j = Bbar_j ./ P_j:
       an ungated causal linear attention head of dimension N. *)

From mathcomp Require Import all_ssreflect ssralg matrix.
From HiddenAttention Require Import Channel T1_Unrolling Attention.

Set Implicit Arguments.
Unset Strict Implicit.
Unset Printing Implicit Defensive.

Import GRing.Theory.
Local Open Scope ring_scope.

Section GatedForm.

Variable R : comRingType.
Variables L N : nat.
Variables (Abar Bbar C : 'I_L -> 'I_N -> R) (x : 'I_L -> R).

Lemma alpha_gla_score (i j : 'I_L) : (j <= i)%N ->
  alpha Abar Bbar C i j = gla_score Abar C Bbar i j.
Proof.
by move=> le_ji; rewrite alpha_lower //; apply: eq_bigr => n _; rewrite mulrA.
Qed.

(* T2(a): the channel output is a gated linear attention head with
   g = Abar, q = C, k = Bbar, v = x. *)
Theorem t2a_gated_form (i : 'I_L) :
  output Abar Bbar C x i = gla_out Abar C Bbar x i.
Proof.
rewrite t1_scan_eq_hidden_attention; apply: eq_bigr => j le_ji.
by rewrite alpha_gla_score.
Qed.

End GatedForm.

Section FactoredForm.

Variable F : fieldType.
Variables L N : nat.
Variables (Abar Bbar C : 'I_L -> 'I_N -> F) (x : 'I_L -> F).

(* P_i = prod_{1 <= k <= i} Abar_k, entrywise (P_0 = 1): Abar_0 never enters
   alpha, so it is left out of the product. *)
Definition prefix_prod (i : 'I_L) (n : 'I_N) : F :=
  \prod_(k < L | (0 < k <= i)%N) Abar k n.

Lemma prefix_prod_split (j i : 'I_L) n : (j <= i)%N ->
  prefix_prod i n = prefix_prod j n * gate_prod Abar j i n.
Proof.
move=> le_ji; rewrite /prefix_prod (bigID (fun k : 'I_L => (k <= j)%N)) /=.
congr (_ * _); apply: eq_bigl => k; case: (leqP k j) => kj;
  rewrite ?andbT ?andbF //.
  by rewrite (leq_trans kj le_ji) andbT.
by rewrite (leq_ltn_trans (leq0n j) kj).
Qed.

(* Only the transitions after step 0 must be invertible. *)
Hypothesis Abar_neq0 : forall (k : 'I_L) n, (0 < k)%N -> Abar k n != 0.

Lemma prefix_prod_neq0 i n : prefix_prod i n != 0.
Proof. by apply/prodf_neq0 => k /andP [k_gt0 _]; exact: Abar_neq0. Qed.

(* Q_i = C_i .* P_i and K_j = Bbar_j ./ P_j. *)
Definition fquery (i : 'I_L) (n : 'I_N) : F := C i n * prefix_prod i n.
Definition fkey (j : 'I_L) (n : 'I_N) : F := Bbar j n / prefix_prod j n.

(* T2(b): alpha_{ij} = <C_i .* P_i, Bbar_j ./ P_j> for j <= i. *)
Theorem t2b_factored_form (i j : 'I_L) : (j <= i)%N ->
  alpha Abar Bbar C i j =
  \sum_(n < N) (C i n * prefix_prod i n) * (Bbar j n / prefix_prod j n).
Proof.
move=> le_ji; rewrite alpha_lower //; apply: eq_bigr => n _.
rewrite (prefix_prod_split n le_ji) -!mulrA; congr (_ * _).
by rewrite [RHS]mulrCA; congr (_ * _); rewrite mulrCA mulfV ?prefix_prod_neq0 // mulr1.
Qed.

(* T2(b), matrix form: alpha = tril(Q K^T). *)
Theorem t2b_factored_form_mx :
  alpha_mx Abar Bbar C =
  \matrix_(i, j) (if (j <= i)%N
                  then ((\matrix_(i', n) fquery i' n) *m
                        (\matrix_(j', n) fkey j' n)^T) i j
                  else 0).
Proof.
apply/matrixP => i j; rewrite !mxE.
case: (leqP j i) => [le_ji|lt_ij]; last by rewrite alpha_upper.
rewrite t2b_factored_form //; apply: eq_bigr => n _.
by rewrite !mxE.
Qed.

(* T2(b), head form: the channel output is the output of the ungated causal
   linear attention head with queries Q_i, keys K_j and values x_j. *)
Theorem t2b_ungated_head (i : 'I_L) :
  output Abar Bbar C x i = la_out fquery fkey x i.
Proof.
rewrite t1_scan_eq_hidden_attention; apply: eq_bigr => j le_ji.
by rewrite t2b_factored_form.
Qed.

End FactoredForm.
