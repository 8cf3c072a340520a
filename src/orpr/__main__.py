from orpr.cli import main

main()
