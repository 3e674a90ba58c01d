"""`flask --app shortener rewards ...`: rules, approval, payouts, refunds.

The same functions as the API (advocates/rewards.py), so the two never
disagree; the CSV export is the API's `GET /api/rewards?format=csv`.
"""

import json

import click
from flask import current_app
from flask.cli import AppGroup

from conversions.cli import _day, emit
from shortener.clock import parse_moment, utcnow
from shortener.db import get_db

from . import rewards

rewards_cli = AppGroup("rewards", help="Reward rules, the rewards ledger, payouts and refunds.")
rules_cli = AppGroup("rules", help="Reward rules per campaign.")
rewards_cli.add_command(rules_cli)


def _fail(e: rewards.RewardError):
    where = f" ({e.field})" if e.field and e.field not in e.message else ""
    raise click.ClickException(e.message + where) from None


def _rule_line(rule: dict) -> str:
    pub = rewards.public_rule(rule)
    what = f"{pub['amount']} {pub['currency']}" if pub["kind"] == "flat" else f"{pub['percent']} %"
    state = "" if pub["active"] else "\t(inactive)"
    return f"{pub['id']}\t{pub['campaign']}\t{pub['beneficiary']}\t{pub['goal']}\t{what}{state}"


def _rule_fields(**options) -> dict:
    """CLI options as the API's body fields; options not given are absent."""
    return {k: v for k, v in options.items() if v is not None}


def rule_options(f):
    f = click.option("--note")(f)
    f = click.option("--verified-only/--any-source", "verified_only", default=None,
                     help="pay only on conversions by signed webhook, not by pixel")(f)  # fmt: skip
    f = click.option("--cap-amount", help="most one advocate can earn under this rule")(f)
    f = click.option("--cap-count", help="most rewards per advocate under this rule")(f)
    f = click.option("--holding-days", help="days before a reward is approved (default 30)")(f)
    f = click.option("--valid-to", help="last day the rule applies (UTC, inclusive)")(f)
    f = click.option("--valid-from", help="first day the rule applies (UTC)")(f)
    f = click.option("--currency", help="ISO code; default DEFAULT_CURRENCY")(f)
    f = click.option("--percent", help="percent of the friend's attributed revenue")(f)
    f = click.option("--amount", help="flat amount, e.g. 10.00")(f)
    f = click.option("--goal", help="the goal that earns it (default purchase)")(f)
    return f


@rules_cli.command("create")
@click.option("--campaign", required=True)
@click.option("--for", "beneficiary", type=click.Choice(rewards.BENEFICIARIES), required=True,
              help="who is rewarded: the advocate per converted friend, or the friend")  # fmt: skip
@rule_options
def rules_create(**options):
    """Add a reward rule to a campaign.

    Example: flask --app shortener rewards rules create --campaign spring --for advocate
    --amount 10.00 --currency EUR --cap-count 20
    """
    fields = _rule_fields(**options)
    try:
        columns = rewards.parse_rule(get_db(), fields, current_app.config["DEFAULT_CURRENCY"])
    except rewards.RewardError as e:
        _fail(e)
    click.echo(_rule_line(rewards.create_rule(get_db(), columns, utcnow(), actor="cli")))


@rules_cli.command("list")
@click.option("--campaign")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def rules_list(campaign, as_json):
    """List reward rules.

    Example: flask --app shortener rewards rules list --campaign spring
    """
    for rule in rewards.list_rules(get_db(), campaign):
        click.echo(json.dumps(rewards.public_rule(rule)) if as_json else _rule_line(rule))


def _rule(rule_id: int) -> dict:
    rule = rewards.get_rule(get_db(), rule_id)
    if rule is None:
        raise click.ClickException(f"no reward rule {rule_id}")
    return rule


@rules_cli.command("update")
@click.argument("rule_id", type=int)
@rule_options
@click.option("--active/--inactive", default=None)
def rules_update(rule_id, **options):
    """Change a rule; rewards already in the ledger keep their amounts.

    Example: flask --app shortener rewards rules update 3 --percent 12.5 --valid-to 2026-06-30
    """
    current = _rule(rule_id)
    try:
        columns = rewards.parse_rule(
            get_db(), _rule_fields(**options), current_app.config["DEFAULT_CURRENCY"], current
        )
    except rewards.RewardError as e:
        _fail(e)
    click.echo(_rule_line(rewards.update_rule(get_db(), rule_id, columns, utcnow(), actor="cli")))


@rules_cli.command("deactivate")
@click.argument("rule_id", type=int)
def rules_deactivate(rule_id):
    """Stop a rule rewarding new conversions (its rewards stay).

    Example: flask --app shortener rewards rules deactivate 3
    """
    _rule(rule_id)
    click.echo(
        _rule_line(rewards.update_rule(get_db(), rule_id, {"active": 0}, utcnow(), actor="cli"))
    )


@rewards_cli.command("approve")
def approve_command():
    """Approve the pending rewards whose holding period has ended. Safe to
    run any number of times (e.g. daily from cron).

    Example: flask --app shortener rewards approve
    """
    count = rewards.approve_due(get_db(), utcnow())
    click.echo(f"approved {count} reward(s)")


def ledger_options(f):
    f = click.option("--to", "end", callback=_day, help="last conversion day, inclusive")(f)
    f = click.option("--from", "start", callback=_day, help="first conversion day")(f)
    f = click.option("--payout-batch")(f)
    f = click.option("--campaign")(f)
    f = click.option("--advocate-id", type=int)(f)
    f = click.option("--beneficiary", type=click.Choice(rewards.BENEFICIARIES))(f)
    f = click.option("--status", type=click.Choice(rewards.STATUSES))(f)
    return f


def _ledger(status, beneficiary, advocate_id, campaign, payout_batch, start, end):
    if start and end and start > end:
        raise click.ClickException("--from must not be after --to")
    db = get_db()
    rewards.approve_due(db, utcnow())
    f = rewards.LedgerFilter(
        status=status,
        beneficiary=beneficiary,
        advocate_id=advocate_id,
        campaign=campaign,
        payout_batch=payout_batch,
        start=start,
        end=end,
    )
    return list(rewards.ledger_rows(db, f))


@rewards_cli.command("list")
@ledger_options
def list_command(**options):
    """Print the ledger, one JSON object per line.

    Example: flask --app shortener rewards list --status refused
    """
    emit(rewards.COLUMNS, _ledger(**options), None)


@rewards_cli.command("export")
@ledger_options
@click.option("--csv", "csv_path", required=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="write CSV to this file ('-' for stdout)")  # fmt: skip
def export_command(csv_path, **options):
    """Write the ledger as CSV, e.g. the approved rewards for a payout run.

    Example: flask --app shortener rewards export --status approved --csv payout.csv
    """
    emit(rewards.COLUMNS, _ledger(**options), csv_path)


@rewards_cli.command("mark-paid")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-approved", is_flag=True, help="every reward approved so far")
@click.option("--up-to", help="with --all-approved: approved at or before this time")
def mark_paid_command(ids, all_approved, up_to):
    """Mark a payout batch paid: reward ids, or every approved reward.

    Example: flask --app shortener rewards mark-paid --all-approved
    """
    if bool(ids) == all_approved:
        raise click.ClickException("give reward ids or --all-approved, not both")
    moment = None
    if up_to:
        if not all_approved:
            raise click.ClickException("--up-to goes with --all-approved")
        try:
            moment = parse_moment(up_to)
        except ValueError:
            raise click.ClickException("--up-to must be a time like 2026-03-31T23:59:59Z") from None
    try:
        done = rewards.mark_paid(get_db(), utcnow(), ids=list(ids) or None, up_to=moment)
    except rewards.RewardError as e:
        _fail(e)
    already = f"; {len(done['already_paid'])} already paid" if done["already_paid"] else ""
    click.echo(
        f"paid {len(done['paid'])} reward(s) in batch {done['payout_batch'] or '-'}{already}"
    )


@rewards_cli.command("refund")
@click.argument("conversion_id", type=int)
@click.option("--reason")
def refund_command(conversion_id, reason):
    """Mark a conversion refunded and void its rewards still pending.

    Example: flask --app shortener rewards refund 1842 --reason "order returned"
    """
    try:
        reason = rewards.clean_text(reason, "reason", max_length=500)
        done = rewards.refund(get_db(), conversion_id, utcnow(), reason)
    except rewards.RewardError as e:
        _fail(e)
    state = "already refunded" if done["already_refunded"] else "refunded"
    click.echo(
        f"conversion {conversion_id} {state} at {done['refunded_at']}: voided"
        f" {len(done['voided'])} reward(s), kept {len(done['kept'])} approved or paid"
    )


def init_app(app):
    app.cli.add_command(rewards_cli)
