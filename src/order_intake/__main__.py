"""`python -m order_intake`: the `order-intake` command, run by whichever interpreter runs this."""

from order_intake.entrypoints.cli import main

main(prog_name="order-intake")
