//! Red-flag triage with the shipped agents file: every labelled emergency of the evaluation set
//! in `bench/triage/` is caught, and phrasings written here (every category in every language,
//! real chat writing, benign look-alikes) are read as a triage nurse would.

use std::path::PathBuf;

use whatsapp_agent::agent::AgentsConfig;

fn agents() -> AgentsConfig {
    wa_server::agents_file::built_in()
}

/// The labelled messages of one language: `(text, category or None)`.
fn labelled(language: &str) -> Vec<(String, Option<String>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/triage")
        .join(format!("{language}.jsonl"));
    let text = std::fs::read_to_string(&path).expect("the evaluation set");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let text = value["text"].as_str().expect("text").to_string();
            (text, value["expect"].as_str().map(str::to_string))
        })
        .collect()
}

const LANGUAGES: [&str; 6] = ["en", "es", "de", "fr", "it", "pt"];

#[test]
fn every_labelled_emergency_is_caught_and_answered_in_its_language() {
    let agents = agents();
    let mut missed = Vec::new();
    for language in LANGUAGES {
        let cases = labelled(language);
        assert!(
            cases.iter().filter(|(_, e)| e.is_some()).count() >= 40,
            "{language}: at least 40 labelled emergencies"
        );
        for (text, expect) in cases.iter().filter(|(_, e)| e.is_some()) {
            match agents.triage.red_flag(text) {
                Some(hit) if hit.language == language => {}
                other => missed.push(format!("[{language}] {expect:?} -> {other:?}: {text}")),
            }
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}

/// Emergencies phrased here, not in the labelled set: every category in every language.
const EMERGENCIES: &[(&str, &str, &str)] = &[
    (
        "en",
        "chest_pain",
        "there's a crushing weight on my chest and it spreads to my jaw",
    ),
    (
        "en",
        "breathing",
        "my husband is struggling to breathe and can barely talk",
    ),
    ("en", "blue_lips", "her lips have gone blue"),
    (
        "en",
        "stroke",
        "dad's face is drooping on one side and his speech is slurred",
    ),
    (
        "en",
        "unconscious",
        "my grandmother collapsed and isn't responding",
    ),
    (
        "en",
        "seizure",
        "my friend is having a seizure and it won't stop",
    ),
    (
        "en",
        "bleeding",
        "I cut my hand with a knife and it's bleeding heavily, won't stop",
    ),
    (
        "en",
        "anaphylaxis",
        "ate a peanut and now my tongue is swelling up",
    ),
    ("en", "self_harm", "I'm going to kill myself tonight"),
    ("en", "overdose", "I took a whole bottle of paracetamol"),
    (
        "en",
        "burns",
        "my son pulled boiling water over himself, big blisters on his arm",
    ),
    ("en", "child_emergency", "my baby is not breathing"),
    (
        "en",
        "head_injury",
        "she hit her head on the stairs and keeps vomiting and seems confused",
    ),
    (
        "es",
        "chest_pain",
        "tengo un dolor muy fuerte en el pecho que me baja por el brazo izquierdo",
    ),
    (
        "es",
        "breathing",
        "mi madre no puede respirar bien y se está ahogando",
    ),
    ("es", "blue_lips", "se le están poniendo los labios morados"),
    (
        "es",
        "stroke",
        "a mi padre se le ha torcido la boca y no puede mover el brazo derecho",
    ),
    (
        "es",
        "unconscious",
        "mi abuelo se ha desmayado y no responde",
    ),
    ("es", "seizure", "mi hijo está convulsionando y no para"),
    (
        "es",
        "bleeding",
        "me he cortado y sangra muchísimo, no para de sangrar",
    ),
    (
        "es",
        "anaphylaxis",
        "me picó una abeja y se me está hinchando la garganta",
    ),
    (
        "es",
        "self_harm",
        "ya no quiero seguir viviendo, voy a quitarme la vida",
    ),
    (
        "es",
        "overdose",
        "me he tomado todas las pastillas de la caja",
    ),
    (
        "es",
        "burns",
        "me he quemado todo el brazo con aceite hirviendo y tengo ampollas",
    ),
    ("es", "child_emergency", "mi bebé no respira"),
    (
        "es",
        "head_injury",
        "se dio un golpe en la cabeza y ahora vomita y está desorientado",
    ),
    (
        "de",
        "chest_pain",
        "ich habe starke Schmerzen in der Brust, die in den linken Arm ziehen",
    ),
    ("de", "breathing", "mein Mann bekommt kaum noch Luft"),
    ("de", "blue_lips", "ihre Lippen sind ganz blau geworden"),
    (
        "de",
        "stroke",
        "bei meinem Vater hängt plötzlich der Mundwinkel und er spricht ganz undeutlich",
    ),
    (
        "de",
        "unconscious",
        "meine Oma ist zusammengebrochen und reagiert nicht mehr",
    ),
    (
        "de",
        "seizure",
        "mein Sohn hat einen Krampfanfall und hört nicht auf zu zucken",
    ),
    (
        "de",
        "bleeding",
        "ich habe mich geschnitten und es blutet sehr stark, hört nicht auf",
    ),
    (
        "de",
        "anaphylaxis",
        "nach dem Wespenstich schwillt mein Hals zu",
    ),
    ("de", "self_harm", "ich will mich umbringen"),
    (
        "de",
        "overdose",
        "ich habe die ganze Packung Tabletten geschluckt",
    ),
    (
        "de",
        "burns",
        "ich habe mich mit kochendem Wasser verbrüht, große Blasen am ganzen Arm",
    ),
    ("de", "child_emergency", "mein Baby atmet nicht mehr"),
    (
        "de",
        "head_injury",
        "er ist auf den Kopf gefallen und muss sich ständig übergeben",
    ),
    (
        "fr",
        "chest_pain",
        "j'ai une douleur dans la poitrine qui serre et qui descend dans le bras",
    ),
    ("fr", "breathing", "mon mari n'arrive plus à respirer"),
    ("fr", "blue_lips", "ses lèvres deviennent bleues"),
    (
        "fr",
        "stroke",
        "ma mère a la bouche de travers et n'arrive plus à parler",
    ),
    (
        "fr",
        "unconscious",
        "mon père s'est effondré et ne répond plus",
    ),
    ("fr", "seizure", "ma fille fait une crise de convulsions"),
    ("fr", "bleeding", "je saigne beaucoup et ça ne s'arrête pas"),
    (
        "fr",
        "anaphylaxis",
        "après une piqûre de guêpe ma gorge gonfle et j'ai du mal à respirer",
    ),
    ("fr", "self_harm", "je veux mourir, je vais me suicider"),
    ("fr", "overdose", "j'ai avalé toute la boîte de médicaments"),
    (
        "fr",
        "burns",
        "je me suis brûlé tout le bras avec de l'eau bouillante, grosses cloques",
    ),
    ("fr", "child_emergency", "mon bébé ne respire plus"),
    (
        "fr",
        "head_injury",
        "il s'est cogné la tête et maintenant il vomit et il est confus",
    ),
    (
        "it",
        "chest_pain",
        "ho un dolore al petto che si irradia al braccio sinistro",
    ),
    ("it", "breathing", "mia madre non riesce a respirare"),
    ("it", "blue_lips", "ha le labbra viola"),
    (
        "it",
        "stroke",
        "mio padre ha la bocca storta e non riesce a parlare bene",
    ),
    ("it", "unconscious", "mio nonno è svenuto e non risponde"),
    ("it", "seizure", "mio figlio ha le convulsioni"),
    (
        "it",
        "bleeding",
        "mi sono tagliato e perdo tantissimo sangue, non si ferma",
    ),
    (
        "it",
        "anaphylaxis",
        "dopo aver mangiato noccioline mi si sta gonfiando la gola",
    ),
    ("it", "self_harm", "voglio farla finita, voglio uccidermi"),
    (
        "it",
        "overdose",
        "ho preso tutte le pastiglie della scatola",
    ),
    (
        "it",
        "burns",
        "mi sono ustionato il braccio con acqua bollente, ci sono grosse vesciche",
    ),
    ("it", "child_emergency", "il mio bambino non respira"),
    (
        "it",
        "head_injury",
        "ha battuto la testa e adesso vomita ed è confuso",
    ),
    (
        "pt",
        "chest_pain",
        "estou com uma dor forte no peito que vai para o braço esquerdo",
    ),
    ("pt", "breathing", "o meu pai não consegue respirar"),
    ("pt", "blue_lips", "os lábios dela estão a ficar roxos"),
    (
        "pt",
        "stroke",
        "a minha mãe ficou com a boca torta e não consegue falar",
    ),
    ("pt", "unconscious", "o meu avô desmaiou e não responde"),
    ("pt", "seizure", "o meu filho está a ter uma convulsão"),
    (
        "pt",
        "bleeding",
        "cortei-me e está a sangrar muito, não para",
    ),
    (
        "pt",
        "anaphylaxis",
        "fui picado por uma abelha e a minha garganta está a inchar",
    ),
    ("pt", "self_harm", "quero morrer, vou me matar"),
    ("pt", "overdose", "tomei a caixa inteira de comprimidos"),
    (
        "pt",
        "burns",
        "queimei o braço todo com água a ferver e tenho bolhas enormes",
    ),
    ("pt", "child_emergency", "o meu bebé não está a respirar"),
    (
        "pt",
        "head_injury",
        "ele bateu com a cabeça e agora está a vomitar e confuso",
    ),
];

/// Emergencies written as patients write: typos, no accents, shorthand, voice transcripts,
/// and a negation next to the emergency.
const REAL_WRITING: &[(&str, &str)] = &[
    ("en", "cant breath pls help"),
    (
        "en",
        "um so yeah my dad he uh he just fell over and now he wont wake up",
    ),
    (
        "en",
        "no fever or anything but my chest feels really tight and heavy",
    ),
    ("en", "hes having a siezure rn"),
    ("es", "no puedo respirrar ayuda"),
    (
        "es",
        "eh mi madre eh se ha caido y no responde no se que hacer",
    ),
    ("es", "no tengo fiebre pero me duele muchisimo el pecho"),
    ("es", "q me duele el pexho mucho"),
    ("de", "ich krieg keine luft mehr"),
    ("de", "äh mein mann ist umgekippt und reagiert nicht"),
    ("de", "kein fieber aber starke brustschmerzen"),
    ("de", "brustschmerzn seit ner stunde"),
    ("fr", "jarrive pas a respirer"),
    ("fr", "euh mon pere il est tombe et il repond plus du tout"),
    (
        "fr",
        "pas de fievre mais une douleur enorme dans la poitrine",
    ),
    ("fr", "jai trop mal a la poitrinne"),
    ("it", "nn riesco a respirare"),
    ("it", "ehm mio padre e caduto e non risponde piu"),
    ("it", "niente febbre ma ho un forte dolore al petto"),
    ("it", "ho un dolre al petto fortissimo"),
    ("pt", "n consigo respirar"),
    ("pt", "tipo a minha avo caiu e nao responde"),
    ("pt", "nao tenho febre mas doi muito o peito"),
    ("pt", "estou com dor no peitu muito forte"),
];

/// Benign messages that mention the same body parts, or negate a symptom.
const BENIGN: &[(&str, &str)] = &[
    ("en", "can I book a chest x-ray for next week?"),
    ("en", "no chest pain, just a runny nose"),
    ("en", "I don't have any trouble breathing, only a cough"),
    ("es", "quería pedir cita para una radiografía de tórax"),
    ("es", "no me duele el pecho, solo tengo tos"),
    ("de", "ich hätte gern einen Termin zum Blutabnehmen"),
    ("de", "keine Atemnot, nur Schnupfen"),
    ("fr", "je voudrais un rendez-vous pour une prise de sang"),
    ("fr", "pas de douleur dans la poitrine, juste un rhume"),
    ("it", "vorrei prenotare una visita per mia figlia"),
    ("it", "non ho dolore al petto, solo un po' di tosse"),
    ("pt", "queria marcar uma consulta para o meu filho"),
    ("pt", "não tenho dor no peito, só tosse"),
];

#[test]
fn every_category_is_caught_in_every_language() {
    let agents = agents();
    for language in LANGUAGES {
        let categories: Vec<&str> = EMERGENCIES
            .iter()
            .filter(|(l, _, _)| *l == language)
            .map(|(_, c, _)| *c)
            .collect();
        assert_eq!(categories.len(), 13, "{language}: one phrase per category");
    }
    for (language, category, text) in EMERGENCIES {
        let hit = agents.triage.red_flag(text);
        let got = hit
            .as_ref()
            .map(|h| (h.language.as_str(), h.reason.as_str()));
        assert_eq!(got, Some((*language, *category)), "{text:?}");
    }
}

#[test]
fn typos_shorthand_voice_notes_and_negations_elsewhere_do_not_hide_an_emergency() {
    let agents = agents();
    for (language, text) in REAL_WRITING {
        let hit = agents.triage.red_flag(text);
        assert_eq!(
            hit.as_ref().map(|h| h.language.as_str()),
            Some(*language),
            "{text:?} -> {hit:?}"
        );
    }
}

#[test]
fn benign_messages_and_negated_mentions_raise_nothing() {
    let agents = agents();
    for (language, text) in BENIGN {
        let hit = agents.triage.red_flag(text);
        assert_eq!(hit, None, "[{language}] {text:?}");
    }
}

#[test]
fn every_language_answers_self_harm_with_a_crisis_line_and_the_emergency_number() {
    let agents = agents();
    for language in LANGUAGES {
        let pack = agents.language(Some(language));
        assert_eq!(pack.code, language);
        let crisis = pack.emergency_reply_for("self_harm");
        let general = pack.emergency_reply_for("chest_pain");
        assert!(
            crisis.contains("112") && general.contains("112"),
            "{language}"
        );
        assert_ne!(crisis, general, "{language}: the crisis reply is its own");
    }
}

/// Everyday messages: `(emergency, language, text)`.
const EVERYDAY: &[(bool, &str, &str)] = &[
    (true, "en", "my husband just collapsed in the kitchen and he's not breathing properly"),
    (true, "en", "i think im having a heart attack my left arm is numb and my chest is so tight"),
    (true, "en", "my wife suddenly can't lift her right arm and her words are coming out wrong"),
    (true, "en", "my 4 month old is floppy and hot and there's a purple rash that doesn't go away when i press it"),
    (true, "en", "my son swallowed a button battery about 10 minutes ago"),
    (true, "en", "she's bleeding a lot from her head after falling down the stairs and she's not making sense"),
    (true, "en", "I've taken all my antidepressants, I just want it to stop"),
    (true, "en", "he is fitting and has been for 5 minutes"),
    (true, "en", "throat feels like its closing after eating shrimp"),
    (true, "en", "been cutting myself again and its deep this time"),
    (true, "en", "pretty sure my dad is having a stroke, his face looks weird on one side"),
    (true, "en", "spilled boiling water all over my toddler"),
    (true, "en", "i can hardly breathe and my lips look blue"),
    (true, "en", "grandad fell and banged his head, now he keeps being sick and is very sleepy"),
    (false, "en", "I had a chest infection last month, can I get the results of my x-ray?"),
    (false, "en", "my son has a mild cough but he's breathing fine and eating well"),
    (false, "en", "how many paracetamol can I take in a day?"),
    (false, "en", "I burned my finger on the kettle, it's a small red mark"),
    (false, "en", "no bleeding since the stitches came out, can I shower?"),
    (false, "en", "my mum had a stroke in 2019, can we book her annual check?"),
    (false, "en", "is it normal to feel a bit dizzy after the flu jab?"),
    (false, "en", "I'd like to talk about my blood pressure medication"),
    (true, "es", "mi marido se ha desplomado y no respira bien"),
    (true, "es", "creo que me está dando un infarto, me duele el pecho y el brazo izquierdo"),
    (true, "es", "a mi mujer se le ha quedado la cara torcida y habla raro"),
    (true, "es", "mi niño se ha tragado una pila de botón"),
    (true, "es", "me he tomado todas las pastillas para dormir"),
    (true, "es", "mi hija tiene fiebre alta y unas manchas moradas que no se van al apretar"),
    (true, "es", "no puedo más, quiero acabar con todo esta noche"),
    (true, "es", "se me cierra la garganta después de comer marisco"),
    (false, "es", "tuve una infección de pecho el mes pasado, ¿tienen los resultados?"),
    (false, "es", "¿cuántos ibuprofenos puedo tomar al día?"),
    (false, "es", "me quemé un poco el dedo con la sartén, nada grave"),
    (false, "es", "mi madre tuvo un ictus hace años, queremos pedir revisión"),
    (true, "de", "mein Mann ist in der Küche zusammengebrochen und atmet kaum"),
    (true, "de", "ich glaube ich habe einen Herzinfarkt, Druck auf der Brust und der linke Arm ist taub"),
    (true, "de", "meine Frau kann den rechten Arm nicht mehr heben und redet wirr"),
    (true, "de", "mein Kind hat eine Knopfbatterie verschluckt"),
    (true, "de", "ich habe alle meine Schlaftabletten genommen"),
    (true, "de", "ich will nicht mehr leben, ich mache heute Schluss"),
    (false, "de", "wie viele Ibuprofen darf ich am Tag nehmen?"),
    (false, "de", "ich habe mir leicht den Finger an der Pfanne verbrannt"),
    (true, "fr", "mon mari s'est effondré dans la cuisine et il respire mal"),
    (true, "fr", "je crois que je fais une crise cardiaque, j'ai mal à la poitrine et au bras gauche"),
    (true, "fr", "ma femme a le visage qui tombe d'un côté et elle parle bizarrement"),
    (true, "fr", "mon fils a avalé une pile bouton"),
    (true, "fr", "j'ai pris toutes mes pilules pour dormir"),
    (true, "fr", "je veux en finir ce soir"),
    (false, "fr", "combien de doliprane je peux prendre par jour ?"),
    (false, "fr", "je me suis un peu brûlé le doigt avec la poêle, rien de grave"),
    (true, "it", "mio marito è crollato in cucina e respira male"),
    (true, "it", "credo di avere un infarto, ho dolore al petto e al braccio sinistro"),
    (true, "it", "mia moglie ha la faccia storta da un lato e parla strano"),
    (true, "it", "mio figlio ha ingoiato una pila a bottone"),
    (true, "it", "ho preso tutte le mie pillole per dormire"),
    (false, "it", "quante tachipirine posso prendere al giorno?"),
    (false, "it", "mi sono bruciata un po' il dito con la padella, niente di grave"),
    (true, "pt", "o meu marido desmaiou na cozinha e está a respirar mal"),
    (true, "pt", "acho que estou a ter um ataque cardíaco, dói-me o peito e o braço esquerdo"),
    (true, "pt", "a minha mulher tem a cara de lado e está a falar esquisito"),
    (true, "pt", "o meu filho engoliu uma pilha de botão"),
    (true, "pt", "tomei todos os meus comprimidos para dormir"),
    (false, "pt", "quantos paracetamóis posso tomar por dia?"),
    (false, "pt", "queimei um pouco o dedo na frigideira, nada de grave"),
];

#[test]
fn everyday_emergencies_are_caught_and_everyday_questions_are_not() {
    let agents = agents();
    for (emergency, language, text) in EVERYDAY {
        let hit = agents.triage.red_flag(text);
        if *emergency {
            assert_eq!(
                hit.as_ref().map(|h| h.language.as_str()),
                Some(*language),
                "{text:?} -> {hit:?}"
            );
        } else {
            assert_eq!(hit, None, "[{language}] {text:?}");
        }
    }
}
