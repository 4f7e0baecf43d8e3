//! The binary prints one JSON line with everything a harness needs, and serves on it.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn binary_prints_startup_json_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hoopauth-emulator"))
        .args([
            "--port",
            "0",
            "--client-id",
            "abc-def",
            "--locations",
            "x1,x2",
            "--max",
            "7",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["client_id"], "abc-def");
    assert_eq!(v["client_secret"], "emulator-secret");
    assert!(v["webhook_public_key"]
        .as_str()
        .unwrap()
        .starts_with("MCowBQYDK2VwAyEA"));
    let base = v["base_url"].as_str().unwrap();
    let hostport = base.strip_prefix("http://127.0.0.1:").unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", hostport.parse::<u16>().unwrap())).unwrap();
    s.write_all(b"GET /_emulator/control HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains(r#""max":7"#), "{out}");

    let bad = Command::new(env!("CARGO_BIN_EXE_hoopauth-emulator"))
        .arg("--nope")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
}
