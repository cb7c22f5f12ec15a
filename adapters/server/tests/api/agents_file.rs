//! The agents file: Anna by default, another file by setting, one clear line when it is wrong.

use std::collections::HashMap;
use std::path::PathBuf;

use wa_server::Settings;

fn load(vars: &[(&str, &str)], dir: PathBuf) -> Result<Settings, String> {
    let mut env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert("APP_CONFIG_DIR".into(), dir.display().to_string());
    Settings::load_from(&env).map_err(|e| e.to_string())
}

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

#[test]
fn the_default_agents_are_anna_and_her_two_specialists() {
    let settings = load(&[], config_dir()).expect("loads");

    let agents = settings.agents_config();
    assert_eq!(agents.manager.name, "Anna");
    let ids: Vec<&str> = agents.specialists.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["appointments", "medical_info"]);
}

#[test]
fn without_a_config_folder_the_built_in_agents_are_used() {
    let empty = std::env::temp_dir().join(format!("wa_no_config_{}", uuid::Uuid::new_v4()));

    let settings = load(&[], empty).expect("loads from the built-in copy");

    assert_eq!(settings.agents_config().manager.id, "anna");
}

#[test]
fn a_named_agents_file_that_is_missing_stops_start_up_naming_the_key() {
    let err =
        load(&[("APP_AGENTS__FILE", "clinic-agents.toml")], config_dir()).expect_err("refused");

    assert!(err.contains("agents.file"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn a_broken_agents_file_names_the_key_at_fault() {
    let dir = std::env::temp_dir().join(format!("wa_agents_{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = std::fs::read_to_string(config_dir().join("agents.toml")).expect("read");
    let broken = text.replace("[manager]\nid = \"anna\"", "[manager]\nid = \"Anna Maria\"");
    std::fs::write(dir.join("agents.toml"), broken).expect("write");

    let err = load(&[], dir.clone()).expect_err("refused");

    assert!(err.contains("manager.id"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_default_red_flags_catch_everyday_phrasings_in_the_right_language() {
    let agents = load(&[], config_dir()).expect("loads").agents_config();
    let cases = [
        ("I have chest pain", "en", "chest_pain"),
        ("I have severe chest pains", "en", "chest_pain"),
        ("my chest really hurts", "en", "chest_pain"),
        ("I cant breathe", "en", "breathing"),
        ("I can’t breathe!!", "en", "breathing"),
        ("I don't want to live anymore", "en", "self_harm"),
        ("I feel suicidal", "en", "self_harm"),
        ("me duele mucho el pecho", "es", "chest_pain"),
        ("tengo dolor de pecho desde ayer", "es", "chest_pain"),
        ("me cuesta mucho respirar", "es", "breathing"),
        ("quiero suicidarme", "es", "self_harm"),
        ("tengo pensamientos suicidas", "es", "self_harm"),
        ("quiero morirme", "es", "self_harm"),
        ("me quiero matar", "es", "self_harm"),
        ("ich habe Brustschmerzen", "de", "chest_pain"),
        ("Mir tut die Brust weh", "de", "chest_pain"),
        ("ich bekomme keine Luft", "de", "breathing"),
        ("ich will nicht mehr leben", "de", "self_harm"),
    ];
    for (text, language, reason) in cases {
        let hit = agents
            .triage
            .red_flag(text)
            .unwrap_or_else(|| panic!("no red flag for {text:?}"));
        assert_eq!(
            (hit.language.as_str(), hit.reason.as_str()),
            (language, reason),
            "{text:?}"
        );
    }
    for calm in [
        "I'd like to book a check-up for next week",
        "¿A qué hora abren el sábado?",
        "Ich möchte einen Termin verschieben",
    ] {
        let hit = agents.triage.red_flag(calm);
        assert!(hit.is_none(), "{calm:?} flagged as {hit:?}");
    }
}
