from ngjax import cli
from ngjax.main import main

cli.run(main)
