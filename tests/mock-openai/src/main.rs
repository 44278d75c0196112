//! `mock-openai [--port N]`: serves the mock OpenAI upstream on 127.0.0.1 until SIGTERM or
//! SIGINT. When ready it prints exactly one line to stdout:
//! `mock-openai listening on http://127.0.0.1:PORT`.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

use mock_openai::{parse_args, serve, MOCK_HEADERS, USAGE};

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            let mut text = format!("{USAGE}\n\nrequest headers:\n");
            for (name, what) in MOCK_HEADERS {
                text.push_str(&format!("  {name:<26} {what}\n"));
            }
            text.push_str(
                "\ncontrol: GET /__mock/requests, POST /__mock/reset, GET /__mock/health\n",
            );
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("mock-openai: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("mock-openai: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options.port)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mock-openai: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;
    // Install the handlers before announcing readiness, so a signal sent right after the
    // line is seen never kills the process with the default action.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "mock-openai listening on http://{addr}")?;
        out.flush()?;
    }
    serve(listener, async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
    .await
}
