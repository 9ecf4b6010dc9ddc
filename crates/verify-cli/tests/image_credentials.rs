//! Credentials go only where they belong: two registries on loopback,
//! Debian's `docker-registry` with htpasswd authentication and a server that
//! records every request's headers and challenges as an attacker would
//! (Basic, or a Bearer realm pointing back at itself or at the first
//! registry). The second never sees the first's credentials.

mod image_env;

use std::sync::{Arc, Mutex};

use image_env::*;
use serde_json::json;
use verify_testkit::cosign::{signature_layer, simple_signing_payload};
use verify_testkit::{SignOptions, TestSigstore};

const ISSUER: &str = verify_testkit::GITHUB_ACTIONS_ISSUER;
const USER: &str = "alice";
const PASSWORD: &str = "s3cret-only-for-registry-a";

/// What a recorder answers `401` with, given its own address.
type Challenge = dyn Fn(&str) -> String + Send + Sync;

/// Every header value a recorder saw, lowercased names.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A registry-shaped server recording every header, answering `401` with
/// `challenge(own address)` to everything but its token path, where it
/// records the request too and answers a token.
fn recorder(challenge: impl Fn(&str) -> String + Send + Sync + 'static) -> (Server, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let me = Arc::new(Mutex::new(String::new()));
    let addr = Arc::clone(&me);
    let server = Server::start(Arc::new(move |request: Request| {
        for (k, v) in &request.headers {
            log.lock().unwrap().push((k.clone(), v.clone()));
        }
        if request.path.starts_with("/token") {
            return Response::new(200, r#"{"token":"t"}"#);
        }
        let me = addr.lock().unwrap().clone();
        Response::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#)
            .header("www-authenticate", &challenge(&me))
    }));
    *me.lock().unwrap() = server.addr.clone();
    (server, seen)
}

struct Setup {
    sigstore: TestSigstore,
    a: Registry,
    image: Pushed,
    dir: TempDir,
}

fn setup() -> Setup {
    let sigstore = TestSigstore::new();
    let a = Registry::start_htpasswd(USER, PASSWORD);
    let pusher = a.pusher();
    let image = pusher.image("app", "v1", "linux", "amd64");
    let payload = simple_signing_payload(&format!("{}/app", a.addr), &image.digest, None);
    let signed = sigstore.sign(&payload, &SignOptions::default()).unwrap();
    let layer = signature_layer(&sigstore, &payload, &signed, true).unwrap();
    pusher.cosign_manifest("app", &format!("sha256-{}.sig", image.hex()), &[layer]);
    let dir = TempDir::new("credentials");
    std::fs::write(
        dir.path().join("trusted_root.json"),
        sigstore.trusted_root_json(),
    )
    .unwrap();
    Setup {
        sigstore,
        a,
        image,
        dir,
    }
}

impl Setup {
    fn args(&self, images: &[String], extra: &[&str]) -> Vec<String> {
        let mut args = vec!["image".to_string()];
        args.extend(images.iter().cloned());
        args.extend([
            "--certificate-identity".to_string(),
            SignOptions::default()
                .effective_identity()
                .as_str()
                .to_string(),
            "--certificate-oidc-issuer".into(),
            ISSUER.into(),
            "--trusted-root".into(),
            self.dir
                .path()
                .join("trusted_root.json")
                .display()
                .to_string(),
            "--allow-http-registry".into(),
            "-o".into(),
            "json".into(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn a_image(&self) -> String {
        format!("{}/app@{}", self.a.addr, self.image.digest)
    }

    /// A Docker configuration with `auths` for registry A only.
    fn docker_config(&self) -> std::path::PathBuf {
        use base64::Engine as _;
        let dir = self.dir.path().join("docker");
        std::fs::create_dir_all(&dir).unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        std::fs::write(
            dir.join("config.json"),
            json!({"auths": {self.a.addr.clone(): {"auth": auth}}}).to_string(),
        )
        .unwrap();
        dir
    }
}

fn run(args: &[String], env: &[(&str, &str)]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    verify_env(&args, env)
}

/// No header the recorder saw carries A's password, in clear or in Basic.
fn assert_never_saw_the_password(seen: &Seen) {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    for (name, value) in seen.lock().unwrap().iter() {
        assert!(
            !value.contains(PASSWORD) && !value.contains(&basic),
            "registry B saw A's credential in {name}: {value}"
        );
    }
}

#[test]
fn the_htpasswd_registry_needs_its_credentials_and_gets_them() {
    let s = setup();
    let output = run(&s.args(&[s.a_image()], &[]), &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        failure_json(&output)["reason"]["code"],
        "registry-unauthorized"
    );
    let output = run(
        &s.args(
            &[s.a_image()],
            &["--registry-username", USER, "--registry-password", PASSWORD],
        ),
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let config = s.docker_config();
    let output = run(
        &s.args(&[s.a_image()], &[]),
        &[("DOCKER_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let _ = &s.sigstore;
}

#[test]
fn flags_for_images_on_several_registries_are_a_usage_error() {
    let s = setup();
    let (b, seen) = recorder(|_| r#"Basic realm="b""#.into());
    let b_image = format!("{}/app@{}", b.addr, s.image.digest);
    let output = run(
        &s.args(
            &[s.a_image(), b_image],
            &["--registry-username", USER, "--registry-password", PASSWORD],
        ),
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("Docker configuration"), "{text}");
    assert!(seen.lock().unwrap().is_empty(), "B was contacted");
}

#[test]
fn a_second_registry_never_sees_the_first_ones_credentials_whatever_it_asks() {
    let s = setup();
    let config = s.docker_config();
    let a_addr = s.a.addr.clone();
    let challenges: Vec<Box<Challenge>> = vec![
        Box::new(|_| r#"Basic realm="give me a password""#.into()),
        Box::new(|me| format!(r#"Bearer realm="http://{me}/token",service="b""#)),
        // A realm on registry A's host: B's (no) credentials go there, not
        // A's to B.
        Box::new(move |_| format!(r#"Bearer realm="http://{a_addr}/token",service="a""#)),
    ];
    for challenge in challenges {
        let (b, seen) = recorder(challenge);
        let b_image = format!("{}/app@{}", b.addr, s.image.digest);
        // A verifies with its credentials; B, in the same run, fails and
        // never sees them.
        let output = run(
            &s.args(&[s.a_image(), b_image], &[]),
            &[("DOCKER_CONFIG", config.to_str().unwrap())],
        );
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<serde_json::Value> = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        // A's success is cosign's array of verified payloads; B's failure
        // an object with `verified: false`.
        assert!(
            lines.iter().any(|l| l.is_array()),
            "A should verify: {stdout}"
        );
        assert!(
            lines.iter().any(|l| l["verified"] == false),
            "B should fail: {stdout}"
        );
        assert!(!seen.lock().unwrap().is_empty(), "B was not contacted");
        assert_never_saw_the_password(&seen);

        // The flags, for B's image alone, go to B (the registry named):
        // a different password, and still never A's.
        let b_only = format!("{}/app@{}", b.addr, s.image.digest);
        let output = run(
            &s.args(
                &[b_only],
                &["--registry-username", "bob", "--registry-password", "for-b"],
            ),
            &[("DOCKER_CONFIG", config.to_str().unwrap())],
        );
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert_never_saw_the_password(&seen);
    }
}

#[test]
fn a_credential_helper_that_hangs_ends_at_the_deadline_and_is_killed() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = setup();
    // A helper for registry A that records its process ID and never
    // answers. `verify` runs on one current-thread runtime: had it waited
    // for the helper by blocking, no timer could fire until the helper
    // ended.
    let bin = s.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pid_file = s.dir.path().join("helper.pid");
    let helper = bin.join("docker-credential-verifytesthang");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 120\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = s.dir.path().join("docker-hang");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.json"),
        json!({"credHelpers": {s.a.addr.clone(): "verifytesthang"}}).to_string(),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = run(
        &s.args(&[s.a_image()], &["--timeout", "3"]),
        &[("DOCKER_CONFIG", config.to_str().unwrap()), ("PATH", &path)],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let json = failure_json(&output);
    assert_eq!(json["verified"], false, "{json}");
    assert_eq!(json["reason"]["code"], "image-deadline-exceeded", "{json}");
    // The helper ran, and did not outlive the verification (it is killed
    // when its future is dropped; gone or a zombie awaiting its reaper).
    let pid = std::fs::read_to_string(&pid_file).expect("the helper ran");
    let stat = format!("/proc/{}/stat", pid.trim());
    let gone = (0..100).any(|_| {
        let alive = std::fs::read_to_string(&stat)
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        if alive {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        !alive
    });
    assert!(
        gone,
        "the credential helper {} is still running",
        pid.trim()
    );
}
