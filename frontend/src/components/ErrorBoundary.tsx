// Keeps one broken page (or chart) from blanking the whole console.
import { Component, type ReactNode } from 'react';
import { Alert } from 'antd';
import i18n from '../i18n';

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  render() {
    if (this.state.error) {
      return <Alert type="error" showIcon message={i18n.t('error.render')} description={this.state.error.message} />;
    }
    return this.props.children;
  }
}
