use std::io::Write;

#[tokio::main]
async fn main() {
    let cfg = match hoopauth_emulator::parse_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            if e == hoopauth_emulator::USAGE {
                print!("{e}");
                std::process::exit(0);
            }
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let running = match hoopauth_emulator::start(cfg).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hoopauth-emulator: cannot bind: {e}");
            std::process::exit(1);
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", running.startup_json());
        let _ = out.flush();
    }
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await;
}
