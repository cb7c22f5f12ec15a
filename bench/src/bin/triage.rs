//! Red-flag triage, measured: recall and false alarms per language and category on the
//! labelled messages in `bench/triage/*.jsonl`, and the time to read a 1,000-character message.
//!
//! `cargo run -p wa-bench --bin triage [-- --agents FILE] [-- --show] [-- --only LANG]`;
//! `--show` lists every miss and false alarm with the message. `-- --typos WORDS [--only LANG]`
//! lists the words of a word list that rules (of LANG) would misread as a typo (candidates for
//! `not_typos`). `-- --try "text"` prints what one message raises.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use whatsapp_agent::agent::AgentsConfig;

/// One labelled message.
struct Case {
    language: String,
    text: String,
    /// The category a triage nurse would flag, or `None` for a benign message.
    expect: Option<String>,
}

#[derive(Default)]
struct Tally {
    emergencies: usize,
    caught: usize,
    right_category: usize,
    right_language: usize,
    benign: usize,
    false_alarms: usize,
}

impl Tally {
    fn add(&mut self, case: &Case, hit: Option<&whatsapp_agent::agent::RedFlagHit>) {
        match (&case.expect, hit) {
            (Some(expect), hit) => {
                self.emergencies += 1;
                if let Some(hit) = hit {
                    self.caught += 1;
                    self.right_category += usize::from(hit.reason == *expect);
                    self.right_language += usize::from(hit.language == case.language);
                }
            }
            (None, hit) => {
                self.benign += 1;
                self.false_alarms += usize::from(hit.is_some());
            }
        }
    }
}

impl Tally {
    /// A line of the per-language table.
    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.emergencies,
            self.caught,
            percent(self.caught, self.emergencies),
            percent(self.right_category, self.emergencies),
            percent(self.right_language, self.emergencies),
            self.benign,
            self.false_alarms,
            percent(self.false_alarms, self.benign),
        )
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:.1} %", 100.0 * part as f64 / whole as f64)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn load_agents(path: &Path) -> anyhow::Result<AgentsConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    wa_server::agents_file::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn load_cases(dir: &Path) -> anyhow::Result<Vec<Case>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let language = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(&file)?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let value: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{}:{}", file.display(), n + 1))?;
            cases.push(Case {
                language: language.clone(),
                text: value["text"].as_str().unwrap_or_default().to_string(),
                expect: value["expect"].as_str().map(str::to_string),
            });
        }
    }
    Ok(cases)
}

/// Mean time to read `text`, in microseconds.
fn time_per_read(agents: &AgentsConfig, text: &str) -> f64 {
    let rounds = 2_000;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(agents.triage.assess(std::hint::black_box(text)));
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

/// A message of at least `chars` characters made of `sentences` repeated.
fn long_message(sentences: &[&str], chars: usize) -> String {
    let mut text = String::new();
    for sentence in sentences.iter().cycle() {
        if text.chars().count() >= chars {
            break;
        }
        text.push_str(sentence);
        text.push(' ');
    }
    text.chars().take(chars).collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let agents_path =
        flag("--agents").map_or_else(|| root().join("config/agents.toml"), PathBuf::from);
    let agents = load_agents(&agents_path)?;
    if let Some(text) = flag("--try") {
        println!("{:?}", agents.triage.assess(text));
        return Ok(());
    }
    if let Some(list) = flag("--typos") {
        // A word list (one word per line, most frequent first): the real words that rules
        // would misread as a typo of one of their words.
        for word in std::fs::read_to_string(list)?.lines() {
            let only = flag("--only").map(String::as_str);
            let readings = agents.triage.typo_readings(word.trim(), only);
            if !readings.is_empty() {
                println!("{word}\t{}", readings.join(" "));
            }
        }
        return Ok(());
    }
    let show = args.iter().any(|a| a == "--show");
    let mut cases = load_cases(&root().join("bench/triage"))?;
    if let Some(only) = flag("--only") {
        cases.retain(|c| c.language == *only);
    }

    let started = Instant::now();
    let mut by_language: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut problems = Vec::new();
    for case in &cases {
        let hit = agents.triage.red_flag(&case.text);
        by_language
            .entry(&case.language)
            .or_default()
            .add(case, hit.as_ref());
        total.add(case, hit.as_ref());
        if let Some(expect) = &case.expect {
            by_category
                .entry(expect)
                .or_default()
                .add(case, hit.as_ref());
        }
        let wrong = match (&case.expect, &hit) {
            (Some(_), None) => Some("MISSED".to_string()),
            (None, Some(hit)) => Some(format!("FALSE ALARM {}", hit.reason)),
            (Some(expect), Some(hit)) if hit.reason != *expect || hit.language != case.language => {
                Some(format!(
                    "as {}/{} (labelled {expect})",
                    hit.reason, hit.language
                ))
            }
            _ => None,
        };
        if let Some(wrong) = wrong {
            problems.push(format!("[{}] {wrong}: {}", case.language, case.text));
        }
    }
    let elapsed = started.elapsed();

    println!(
        "Red-flag triage on {} labelled messages ({})",
        cases.len(),
        agents_path.display()
    );
    println!();
    println!("| language | emergencies | caught | recall | right category | reply language | benign | false alarms | rate |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (language, t) in &by_language {
        println!("{}", t.row(language));
    }
    println!("{}", total.row("all"));
    println!();
    println!("| category | emergencies | caught | recall | right category |");
    println!("|---|---|---|---|---|");
    for (category, t) in &by_category {
        println!(
            "| {category} | {} | {} | {} | {} |",
            t.emergencies,
            t.caught,
            percent(t.caught, t.emergencies),
            percent(t.right_category, t.emergencies),
        );
    }
    println!();
    let calm = long_message(
        &[
            "Hello, I would like to book an appointment for my daughter next Tuesday morning.",
            "She had a chest x-ray last month and the results were fine, no pain since.",
            "Hola, quería pedir cita para la semana que viene, por la tarde si puede ser.",
            "Ich möchte meinen Termin verschieben, bitte rufen Sie mich zurück.",
            "Bonjour, je voudrais renouveler mon ordonnance pour la tension.",
        ],
        1_000,
    );
    let urgent = format!("{} my chest hurts and my left arm is numb", &calm[..950]);
    let build = if cfg!(debug_assertions) {
        "debug build: run with --release for the real figure"
    } else {
        "release build"
    };
    println!(
        "Reading a 1,000-character message: {:.1} µs without a red flag, {:.1} µs with one \
         (mean of 2,000 reads, {build}); the whole set took {:.1} ms.",
        time_per_read(&agents, &calm),
        time_per_read(&agents, &urgent),
        elapsed.as_secs_f64() * 1e3,
    );
    if show || problems.len() <= 40 {
        println!();
        for problem in &problems {
            println!("{problem}");
        }
    } else {
        println!("{} messages were missed, flagged wrongly or answered in another category or language; --show lists them.", problems.len());
    }
    Ok(())
}
