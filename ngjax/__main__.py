from ngjax.main import run

run()
