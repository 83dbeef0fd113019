"""``deltahedge dashboard``: the risk dashboard over a journal (audit) or a demo feed."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard(
        db: str = typer.Option(
            "",
            "--db",
            help="Journal to audit: SQLite path or URL (sqlite:///..., postgresql://...).",
        ),
        host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
        port: int = typer.Option(8050, help="TCP port (0: any free port)."),
        run_id: str = typer.Option("", help="Show only this run of the journal."),
        poll: float = typer.Option(1.0, help="Seconds between reads of a journal still written."),
        demo: bool = typer.Option(
            False, help="Serve a synthetic book instead of a journal (controls enabled)."
        ),
    ) -> None:
        """Serve the dashboard: net Greeks, hedge log, PnL attribution, smiles, limits.

        With --db it rebuilds the dashboard from a journal, read-only, following new events.
        With --demo it runs a synthetic book; pause/resume/kill then need the token from
        $DELTAHEDGE_DASHBOARD_TOKEN, or the one printed at start.
        """
        import threading

        from rich.console import Console

        from deltahedge.dashboard.server import TOKEN_ENV, is_loopback, resolve_token, serve

        console = Console()
        if bool(db) == demo:
            raise typer.BadParameter("give either --db URL (audit a journal) or --demo")
        if not is_loopback(host):
            console.print(f"[yellow]warning: binding {host}: other machines can reach it[/]")
        stoppers = []
        if demo:
            from deltahedge.dashboard.demo_feed import DemoDesk, DemoFeedThread
            from deltahedge.dashboard.readmodel import ReadModel

            rm = ReadModel()
            desk = DemoDesk()
            feed = DemoFeedThread(desk, rm, interval_s=0.25).start()
            stoppers.append(feed.stop)
            token, generated = resolve_token()
            handle = serve(rm, desk, host, port, token=token, source_name="demo")
            if generated:
                console.print(f"control token (generated for this run): {token}")
            else:
                console.print(f"control token: the value of ${TOKEN_ENV}")
        else:
            from deltahedge.dashboard.journal_source import JournalReadModel

            source = JournalReadModel(db, run_id=run_id or None)
            source.refresh()
            source.start_polling(poll)
            stoppers.append(source.close)
            handle = serve(source, None, host, port, source_name="journal")
            console.print(f"auditing {source.url} (read-only), {source.seq} updates read")
        console.print(f"dashboard on [bold]{handle.url}[/]  (Ctrl-C to stop)")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            handle.stop()
            for stop in stoppers:
                stop()
