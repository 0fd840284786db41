(* Prints the assumptions of every main theorem; `make check` requires each
   to be closed under the global context (no axioms, no admitted lemmas), or,
   for the theorems over Coq's real numbers, to use only the axioms listed in
   axioms.allow (the standard library's classical reals, and Flocq's). *)

From HiddenAttention Require Import Channel Attention T1_Unrolling
  T2_LinearAttention T3_HeadIsChannel T4_Semiseparable T5_Realisation
  T6_Softmax.
From HiddenAttention Require Import SSD T12_SSDHeadIsChannel T8_SSDUnrolling
  T9_SSDSemiseparable T13_ChunkedSSD T14_DiagonalFamily T14_RWKV6
  T14_DeltaRule.
From HiddenAttention Require Import FloatModel ScanBound T7_Softplus T3_Limit
  ExpRemainder AlphaBound GatedBound EntryBound FactoredBound.

Print Assumptions t1_scan_eq_hidden_attention.
Print Assumptions t1_scan_eq_hidden_attention_full.
Print Assumptions t1_scan_eq_hidden_attention_mx.
Print Assumptions t2a_gated_form.
Print Assumptions t2b_factored_form.
Print Assumptions t2b_factored_form_mx.
Print Assumptions t2b_ungated_head.
Print Assumptions t3_gated_head_is_channel.
Print Assumptions t3_gated_head_scores.
Print Assumptions t3_linear_head_is_channel.
Print Assumptions t3_retention_head_is_channel.
Print Assumptions t4_semiseparable_rank_general.
Print Assumptions t4_semiseparable_rank.
Print Assumptions t4_ss_rank_le_state.
Print Assumptions t5_realisation_full_state.
Print Assumptions t5_realisable_iff_lower_triangular.
Print Assumptions t5_state_lower_bound.
Print Assumptions t5_ss_rank_le_state.
Print Assumptions t6_softmax_is_causal_stochastic.
Print Assumptions t6_softmax_iff_causal_stochastic.
Print Assumptions t6_negative_entry_not_softmax.
Print Assumptions t6_row_sum_not_softmax.
Print Assumptions t6_channel_not_softmax.
Print Assumptions t6_softmax_ss_rank_unbounded.
Print Assumptions t6_softmax_not_channel.
Print Assumptions t8_ssd_unrolling.
Print Assumptions t8_ssd_unrolling_full.
Print Assumptions t8_ssd_unrolling_mx.
Print Assumptions t8_ssd_unrolling_dt.
Print Assumptions t9_ssd_semiseparable_general.
Print Assumptions t9_ssd_semiseparable.
Print Assumptions t9_ssd_ss_rank_le_state.
Print Assumptions t12_ssd_state_is_channel_state.
Print Assumptions t12_ssd_head_is_channel.
Print Assumptions t12_ssd_alpha_is_channel_alpha.
Print Assumptions t12_ssd_alpha_mx_is_channel_alpha_mx.
Print Assumptions t12_equal_entries_channel_is_ssd_head.
Print Assumptions t13_chunk_carry_is_scan_state.
Print Assumptions t13_chunked_eq_scan.
Print Assumptions t13_chunked_final_state.
Print Assumptions t13_chunked_eq_attention.
Print Assumptions t14_diagonal_family_is_channel.
Print Assumptions t14_diagonal_family_is_head.
Print Assumptions t14_diagonal_family_unrolling.
Print Assumptions t14_diagonal_family_unrolling_mx.
Print Assumptions t14_scalar_gate_unrolling.
Print Assumptions t14_retention_unrolling.
Print Assumptions t14_elementwise_is_channel.
Print Assumptions t14_elementwise_unrolling.
Print Assumptions t14_rwkv6_unrolling.
Print Assumptions t14_matrix_transition_unrolling.
Print Assumptions t14_matrix_transition_unrolling_coord.
Print Assumptions t14_delta_rule_unrolling.
Print Assumptions t14_deltanet_unrolling.
Print Assumptions t14_dplr_unrolling.
Print Assumptions t14_matrix_transition_diagonal.
Print Assumptions fmul_model.
Print Assumptions fadd_model.
Print Assumptions scan_within_output_bound.
Print Assumptions scan_within_output_bound_binary64.
Print Assumptions scan_within_output_bound_binary32.
Print Assumptions output_alpha.
Print Assumptions hidden_attention_entry_error.
Print Assumptions alpha_x_within_output_bound.
Print Assumptions alpha_x_within_output_bound_binary64.
Print Assumptions alpha_x_within_output_bound_binary32.
Print Assumptions gated_score_error.
Print Assumptions gated_output_within_output_bound.
Print Assumptions gated_output_within_output_bound_binary64.
Print Assumptions gated_output_within_output_bound_binary32.
Print Assumptions factored_output_within_output_bound.
Print Assumptions factored_output_within_output_bound_binary64.
Print Assumptions factored_output_within_output_bound_binary32.
Print Assumptions hidden_attention_within_entry_bound.
Print Assumptions gated_score_within_entry_bound.
Print Assumptions hidden_attention_within_fast_entry_bound.
Print Assumptions relu_gap_spec.
Print Assumptions relu_gap_zero.
Print Assumptions relu_gap_pos.
Print Assumptions relu_gap_le_ln2.
Print Assumptions relu_gap_ge.
Print Assumptions relu_bound_sound.
Print Assumptions relu_bound_exact_entry.
Print Assumptions relu_bound_le_closed.
Print Assumptions linear_limit_bound_sound.
Print Assumptions linear_limit_bound_le.
Print Assumptions cauchy_schwarz.
Print Assumptions linear_limit_bound_le_closed.
Print Assumptions exp_taylor_remainder.
Print Assumptions exp_taylor_remainder_step.
