from alertbot.cli import main

main()
