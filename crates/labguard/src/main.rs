//! `labguard`: one binary for the whole product. This file only parses the command line and
//! dispatches; the work lives in the library crates.

mod astm_cmd;
mod astm_sim;
mod audit_cmd;
mod backup_cmd;
mod bench;
mod compliance_cmd;
mod config_file;
mod demo;
mod demo_compliance;
mod demo_devices;
mod demo_privacy;
mod devices_bench;
mod devices_cmd;
mod devices_import;
mod devices_inventory;
mod devices_report;
mod devices_scan;
mod devices_vex;
mod fdlimit;
mod fhir_cmd;
mod hl7_cmd;
mod incidents_cmd;
mod ingest_bench;
mod keys_cmd;
mod mllp_cmd;
mod oidc_args;
mod opts;
mod patients_cmd;
mod phishing_cmd;
mod poct_cmd;
mod poct_sim;
mod privacy_bench;
mod privacy_cmd;
mod privacy_tune_cmd;
mod progress;
mod qc_cmd;
mod reauth;
mod risk_cmd;
mod serve_cmd;
mod siem_cmd;
mod simulator;
mod training_cmd;
mod users_cmd;

use clap::{Parser, Subcommand};

use crate::opts::Global;

#[derive(Parser)]
#[command(
    name = "labguard",
    version,
    about = "Security and HIPAA compliance for medical labs and blood-draw clinics",
    long_about = None
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the data dir, a new key-encryption key, the database and the first administrator.
    Init(opts::InitArgs),
    /// Patients: add, find and show (audited like any other access).
    #[command(subcommand)]
    Patients(patients_cmd::PatientsCmd),
    /// Results: show a patient's results (audited).
    #[command(subcommand)]
    Results(patients_cmd::ResultsCmd),
    /// Seed a synthetic demo lab and run a simulated analyzer.
    Demo(demo::DemoArgs),
    /// The tamper-evident audit log: verify, proofs, checkpoints.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCmd),
    /// Encryption keys: rotate, status.
    #[command(subcommand)]
    Keys(keys_cmd::KeysCmd),
    /// Encrypted backups in the age format.
    #[command(subcommand)]
    Backup(backup_cmd::BackupCmd),
    /// Measure throughput against this machine's own limits.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Devices: MLLP instruments (enroll, revoke, list) and device security (inventory,
    /// SBOMs, advisories, report, exposure scan, assessments).
    #[command(subcommand)]
    Devices(devices_cmd::DevicesCmd),
    /// HL7 v2 over MLLP: serve the instrument listeners, benchmark ingest.
    #[command(subcommand)]
    Mllp(mllp_cmd::MllpCmd),
    /// HL7 v2 files: parse and show structure and lab results as JSON.
    #[command(subcommand)]
    Hl7(hl7_cmd::Hl7Cmd),
    /// FHIR R4 export of lab results.
    #[command(subcommand)]
    Fhir(fhir_cmd::FhirCmd),
    /// Serve the HTTPS API and web UI.
    Serve(serve_cmd::ServeArgs),
    /// Sign-in accounts: add, disable (leavers), unlock, list.
    #[command(subcommand, alias = "user")]
    Users(users_cmd::UsersCmd),
    /// Access review: roles, last sign-in, dormant accounts, MFA status.
    AccessReview,
    /// Security training: courses, assignments, transcripts, completions.
    #[command(subcommand)]
    Training(training_cmd::TrainingCmd),
    /// Privacy monitoring: snooping cases from the audit log, patient access reports.
    #[command(subcommand)]
    Privacy(privacy_cmd::PrivacyCmd),
    /// Audit entries and security alerts as SIEM events (JSON lines or RFC 5424 syslog).
    #[command(subcommand)]
    Siem(siem_cmd::SiemCmd),
    /// Phishing simulation: create, launch and report campaigns.
    #[command(subcommand)]
    Phishing(phishing_cmd::PhishingCmd),
    /// Lab settings: the lab's own mail domains.
    #[command(subcommand)]
    Lab(phishing_cmd::LabCmd),
    /// HIPAA Security Rule: evidence, status, audit report (HTML, PDF, OSCAL), attestations,
    /// policies, BAAs, risk register.
    #[command(subcommand)]
    Compliance(compliance_cmd::ComplianceCmd),
    /// Security incidents: register, breach risk assessment, notification clocks.
    #[command(subcommand)]
    Incidents(incidents_cmd::IncidentsCmd),
    /// ASTM E1394 / E1381 files (older analyzers): parse and show what labguard reads.
    #[command(subcommand)]
    Astm(astm_cmd::AstmCmd),
    /// Quality control: control targets, each device's QC points and Westgard verdicts.
    #[command(subcommand)]
    Qc(qc_cmd::QcCmd),
    /// POCT1-A2 files (glucose meters): parse and show what labguard reads, as JSON.
    #[command(subcommand)]
    Poct(poct_cmd::PoctCmd),
}

/// `labguard … | head`: when the reader goes away, `println!` panics with a broken pipe.
/// A command-line tool should just stop, as `cat` does (exit 141 = 128 + SIGPIPE), so
/// that one panic is turned into a quiet exit; every other panic keeps the default report.
/// (Restoring the default SIGPIPE action instead would also kill `serve` whenever a client
/// closes its socket.)
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// The command line, with the settings of `--config FILE` appended (config_file.rs).
fn with_config_file() -> Vec<std::ffi::OsString> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let Some(file) = config_file::named(&args) else {
        return args;
    };
    match config_file::apply(&<Cli as clap::CommandFactory>::command(), args, &file) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Logs to stderr through `tracing`: JSON lines (default; what a log collector reads) or
/// text with `LABGUARD_LOG_FORMAT=text`; levels per module from `RUST_LOG` (default
/// `info`, e.g. `RUST_LOG=labguard::http=warn,info`).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let text = std::env::var("LABGUARD_LOG_FORMAT").is_ok_and(|v| v == "text");
    // A second init (never in this binary) would fail; logging then stays as it was.
    let _ = if text {
        builder.with_ansi(false).try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
}

fn main() {
    quiet_broken_pipe();
    init_logging();
    // Before any listener: the connection caps assume descriptors are there to hold them.
    fdlimit::raise();
    let cli = Cli::parse_from(with_config_file());
    let result = match cli.command {
        Command::Init(a) => opts::init(&cli.global, &a),
        Command::Patients(c) => patients_cmd::run(&cli.global, c),
        Command::Results(c) => patients_cmd::run_results(&cli.global, c),
        Command::Demo(a) => demo::run(&cli.global, a),
        Command::Audit(c) => audit_cmd::run(&cli.global, c),
        Command::Keys(c) => keys_cmd::run(&cli.global, c),
        Command::Backup(c) => backup_cmd::run(&cli.global, c),
        Command::Bench(c) => bench::run(&cli.global, c),
        Command::Devices(c) => devices_cmd::run(&cli.global, c),
        Command::Mllp(c) => mllp_cmd::run(&cli.global, c),
        Command::Hl7(c) => hl7_cmd::run(c),
        Command::Fhir(c) => fhir_cmd::run(&cli.global, c),
        Command::Serve(a) => serve_cmd::run(&cli.global, a),
        Command::Users(c) => users_cmd::run(&cli.global, c),
        Command::AccessReview => users_cmd::access_review(&cli.global),
        Command::Training(c) => training_cmd::run(&cli.global, c),
        Command::Privacy(c) => privacy_cmd::run(&cli.global, c),
        Command::Siem(c) => siem_cmd::run(&cli.global, c),
        Command::Phishing(c) => phishing_cmd::run(&cli.global, c),
        Command::Lab(c) => phishing_cmd::run_lab(&cli.global, c),
        Command::Compliance(c) => compliance_cmd::run(&cli.global, c),
        Command::Incidents(c) => incidents_cmd::run(&cli.global, c),
        Command::Qc(c) => qc_cmd::run(&cli.global, c),
        Command::Astm(c) => astm_cmd::run(c),
        Command::Poct(c) => poct_cmd::run(c),
    };
    if let Err(e) = result {
        let pipe = Some(std::io::ErrorKind::BrokenPipe);
        let broken_pipe = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == pipe
                || c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
                    == pipe
        });
        if broken_pipe {
            std::process::exit(141);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
