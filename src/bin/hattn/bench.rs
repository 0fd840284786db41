//! `hattn bench`: timings with ratios against baselines measured in the same run.

use std::process::ExitCode;

pub fn bench(json: bool, lens: &[usize], state: usize) -> ExitCode {
    let rows = hidden_attention::bench::hidden_attention_rows(lens, state, 512);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows).expect("plain data"));
        return ExitCode::SUCCESS;
    }
    println!("hidden attention of one channel, N = {state}, f64 (median seconds; ratios in this run)");
    println!("{:>6} {:>11} {:>11} {:>11} {:>10} {:>12}", "L", "ours", "plain", "authors", "×plain", "×authors");
    for r in rows {
        let a = r.authors_s.map_or("—".to_string(), |a| format!("{a:.3e}"));
        let ra = r.ratio_vs_authors.map_or("—".to_string(), |a| format!("{a:.0}"));
        println!(
            "{:>6} {:>11.3e} {:>11.3e} {:>11} {:>10.1} {:>12}",
            r.len, r.ours_s, r.plain_s, a, r.ratio_vs_plain, ra
        );
    }
    ExitCode::SUCCESS
}
