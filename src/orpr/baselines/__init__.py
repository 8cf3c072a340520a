"""What every stage below the model needs: the policy contract, the time split, the rolling backtest, and the baseline rules (incumbent, base-stock) with their tuning."""
